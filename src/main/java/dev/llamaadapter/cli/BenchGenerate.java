package dev.llamaadapter.cli;

import dev.llamaadapter.bench.LlamaCppPeer;
import dev.llamaadapter.bench.MemoryBandwidth;
import dev.llamaadapter.bench.Peers;
import dev.llamaadapter.generate.GenerationBench;
import dev.llamaadapter.model.BackendAgreement;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.LlamaWeights;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.QuantMix;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.GemmBackend;
import dev.llamaadapter.tensor.Parallel;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code bench --generate}: prompt processing, decoding with 1, 4 and 16 sequences each through its own adapter
 * (one batched step for all), and one sequence's decoding against the machine's memory bandwidth. With the
 * llama.cpp peer the model is the shape's random model written as GGUF of the dtype, the same file that
 * llama-bench then runs (pp128, tg64, same thread count), right after ours.
 */
final class BenchGenerate {
    private BenchGenerate() {}

    /** Decode steps timed per batch size, and the batch sizes. */
    static final int DECODE_STEPS = 32;
    static final int[] BATCHES = {1, 4, 16};

    static int run(BenchCommand b, BenchCommand.Shape s, DType dt, int T) throws Exception {
        QuantMix mix = b.mix();
        LlamaConfig c = s.config;
        boolean llamacpp = b.peersWanted("llamacpp");
        // a mix of types (q4_k_m, ...) exists only as a file quantize writes: the GGUF route, peer or not
        boolean fromFile = llamacpp || dt == null;
        long t0 = System.nanoTime();
        Path gguf = null, llamaBench = null;
        String why = null;
        if (fromFile) {
            Path peers = Peers.locate(b.peersDir);
            try {
                if (peers == null) throw new java.io.IOException("no peers folder (" + (b.peersDir != null ? b.peersDir : "../shared/peers") + " is absent)");
                gguf = LlamaCppPeer.benchModel(s.toString(), c, mix, peers, b.peersWork);
                if (llamacpp) llamaBench = LlamaCppPeer.llamaBench(peers, b.peersWork, b.peerTimeout);
            } catch (java.io.IOException e) {
                why = e.getMessage();
                if (gguf == null && dt == null) throw new IllegalArgumentException("--dtype " + b.dtype + " needs the bench model as GGUF: " + why, e);
                System.err.println("bench --peer llamacpp: " + why);
            }
        }
        int promptTokens = llamacpp ? LlamaCppPeer.PROMPT : T;
        try (Arena arena = Arena.ofShared(); BaseModel file = gguf == null ? null : BaseModel.open(gguf)) {
            Transformer model = file != null ? file.transformer() : new Transformer(c, LlamaWeights.random(c, dt, 42, arena));
            double buildS = (System.nanoTime() - t0) / 1e9;
            var f = GenerationBench.run(model, s.K, s.L, promptTokens, DECODE_STEPS, BATCHES);
            long rss = BenchCommand.peakRssMb();
            Bound bound = bound(model, s);
            // a backend that rounds (int8, onednn-bf16) is reported with what it costs: its logits against the exact kernels'
            BackendAgreement agree = GemmBackend.current() == GemmBackend.JAVA ? null
                    : BackendAgreement.measure(model, GenerationBench.randomPrompt(c.vocabSize(), BackendAgreement.MAX_POSITIONS), GemmBackend.current().name());
            LlamaCppPeer.Figures peer = llamaBench == null ? (llamacpp ? LlamaCppPeer.Figures.failed(why) : null)
                    : LlamaCppPeer.run(llamaBench, gguf, Parallel.THREADS, 3, b.peerTimeout);
            if (b.json) printJson(s, b.dtype.name(), f, rss, bound, peer, gguf, agree);
            else printText(s, b.dtype.name(), buildS, f, rss, bound, peer, gguf, agree);
        }
        return 0;
    }

    /** One sequence's decoding against the memory bandwidth, in paired rounds (medians). */
    record Bound(long bytesPerToken, double copyGBps, double readGBps, double oneTokensPerS, double fraction, double fractionRead, int rounds) {
        double tokensPerS() {
            return copyGBps * 1e9 / bytesPerToken;
        }

        double tokensPerSRead() {
            return readGBps * 1e9 / bytesPerToken;
        }
    }

    /**
     * Paired rounds: on a shared machine the bandwidth drifts by tens of percent within a minute, so the bandwidth
     * and one sequence's decoding are measured alternately and each round's decode rate is set against that
     * round's own bandwidth; the medians are reported. A decode step reads every layer weight and the head once.
     */
    static Bound bound(Transformer model, BenchCommand.Shape s) {
        LlamaConfig c = s.config;
        long bytesPerToken = weightBytesPerToken(model.weights);
        int rounds = 5;
        PreparedPrompts[] adapter = {GenerationBench.adapter(model, s.K, s.L, 0)};
        int[] prompt = GenerationBench.randomPrompt(c.vocabSize(), 1);
        double[] copy = new double[rounds], read = new double[rounds], tps = new double[rounds], ofCopy = new double[rounds], ofRead = new double[rounds];
        for (int i = 0; i < rounds; i++) {
            MemoryBandwidth.Figures bw = MemoryBandwidth.measure(512L << 20, 2);
            copy[i] = bw.copyGBps();
            read[i] = bw.readGBps();
            tps[i] = GenerationBench.decode(model, adapter, 1, prompt, 16).tokensPerS();
            ofCopy[i] = tps[i] * bytesPerToken / (copy[i] * 1e9);
            ofRead[i] = tps[i] * bytesPerToken / (read[i] * 1e9);
        }
        return new Bound(bytesPerToken, BenchCommand.median(copy), BenchCommand.median(read), BenchCommand.median(tps),
                BenchCommand.median(ofCopy), BenchCommand.median(ofRead), rounds);
    }

    /** Bytes a decoding step reads: every layer's seven projections and the head, in the types they are stored in. */
    static long weightBytesPerToken(LlamaWeights w) {
        long n = w.head().data().byteSize();
        for (LlamaWeights.Layer l : w.layers())
            for (var m : java.util.List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wUp(), l.wDown())) n += m.data().byteSize();
        return n;
    }

    private static void printText(BenchCommand.Shape s, String dtype, double buildS, GenerationBench.Figures f, long rss, Bound bd,
                                  LlamaCppPeer.Figures peer, Path gguf, BackendAgreement agree) {
        System.out.printf(Locale.ROOT, "model %s, %s weights (%s), ready in %.1f s; adapters K %d × L %d; %d threads, matmul backend %s%n", s, dtype,
                gguf == null ? "random, in memory" : gguf, buildS, s.K, s.L, Parallel.THREADS, GemmBackend.current().name());
        System.out.printf(Locale.ROOT, "prompt processing: %d tokens at %.1f tok/s%n", f.promptTokens(), f.promptTokensPerS());
        double one = f.decode().getFirst().tokensPerS();
        for (var x : f.decode())
            System.out.printf(Locale.ROOT, "decode, %2d sequences each with its own adapter: %.1f tok/s (%.1f ms per batched step; %.2fx one sequence's tok/s)%n",
                    x.adapters(), x.tokensPerS(), x.msPerStep(), x.tokensPerS() / one);
        System.out.printf(Locale.ROOT, "memory: %,d bytes per loaded adapter (prompt keys/values and gates), KV cache %,d bytes per sequence slot; peak RSS %d MB%n",
                f.bytesPerAdapter(), f.kvCacheBytesPerSlot(), rss);
        System.out.printf(Locale.ROOT, "bandwidth bound (%d paired rounds, medians): %.1f MB of weights read per token; copy %.1f GB/s (read+write), "
                        + "read-only %.1f GB/s; bound %.1f tok/s (read-only: %.1f); one sequence decodes at %.1f tok/s = %.1f GB/s of weights, "
                        + "%.0f%% of the bound (%.0f%% of the read-only bound)%n",
                bd.rounds(), bd.bytesPerToken() / 1e6, bd.copyGBps(), bd.readGBps(), bd.tokensPerS(), bd.tokensPerSRead(), bd.oneTokensPerS(),
                bd.oneTokensPerS() * bd.bytesPerToken() / 1e9, 100 * bd.fraction(), 100 * bd.fractionRead());
        if (agree != null)
            System.out.printf(Locale.ROOT, "accuracy of %s against the exact Java kernels: one product %.2e relative error (layer 0's projections); "
                            + "the whole base model, %d random tokens teacher-forced: top-1 agreement %.1f%%, largest logit difference %.4g, logits' "
                            + "relative error %.2e (random weights amplify any rounding through the layers: llama.cpp's own logits differ from the "
                            + "exact ones as much on these models; Int8AgreementTest measures real ones)%n",
                    agree.backend(), agree.productRelErr(), agree.positions(), 100 * agree.top1(), agree.maxLogitDiff(), agree.relErr());
        if (peer == null) return;
        if (!peer.ran()) {
            System.out.println("peer llama.cpp: not run (" + peer.note() + ")");
            return;
        }
        System.out.printf(Locale.ROOT, "peer llama.cpp %s (%s), same file, %d threads: pp%d %.1f ± %.1f tok/s, tg%d %.1f ± %.1f tok/s (%.1f GB/s of weights)%n",
                LlamaCppPeer.VERSION, peer.cpu(), Parallel.THREADS, LlamaCppPeer.PROMPT, peer.promptTokensPerS(), peer.promptStdev(),
                LlamaCppPeer.GENERATE, peer.decodeTokensPerS(), peer.decodeStdev(), peer.decodeTokensPerS() * bd.bytesPerToken() / 1e9);
        System.out.printf(Locale.ROOT, "ours / llama.cpp: prompt %.2fx, one-sequence decode %.2fx (bench's decode %.2fx)%n",
                f.promptTokensPerS() / peer.promptTokensPerS(), bd.oneTokensPerS() / peer.decodeTokensPerS(), one / peer.decodeTokensPerS());
    }

    private static void printJson(BenchCommand.Shape s, String dtype, GenerationBench.Figures f, long rss, Bound bd, LlamaCppPeer.Figures peer, Path gguf,
                                  BackendAgreement agree) {
        StringBuilder d = new StringBuilder();
        for (var x : f.decode())
            d.append(d.isEmpty() ? "" : ",").append(String.format(Locale.ROOT, "{\"adapters\":%d,\"tokens_per_s\":%.2f,\"ms_per_step\":%.2f}",
                    x.adapters(), x.tokensPerS(), x.msPerStep()));
        String p = "null";
        if (peer != null)
            p = peer.ran() ? String.format(Locale.ROOT, "{\"version\":\"%s\",\"prompt_tokens\":%d,\"prompt_tokens_per_s\":%.2f,\"decode_tokens\":%d,"
                            + "\"decode_tokens_per_s\":%.2f,\"prompt_ratio\":%.3f,\"decode_ratio\":%.3f}", LlamaCppPeer.VERSION, LlamaCppPeer.PROMPT,
                    peer.promptTokensPerS(), LlamaCppPeer.GENERATE, peer.decodeTokensPerS(), f.promptTokensPerS() / peer.promptTokensPerS(),
                    bd.oneTokensPerS() / peer.decodeTokensPerS())
                    : "{\"version\":\"" + LlamaCppPeer.VERSION + "\",\"note\":\"" + peer.note().replace("\\", "/").replace("\"", "'") + "\"}";
        System.out.printf(Locale.ROOT, "{\"shape\":\"%s\",\"dtype\":\"%s\",\"mode\":\"generate\",\"model\":%s,\"prompt_tokens\":%d,\"prompt_tokens_per_s\":%.2f,"
                        + "\"decode\":[%s],\"bytes_per_adapter\":%d,\"kv_cache_bytes_per_slot\":%d,\"peak_rss_mb\":%d,\"threads\":%d,"
                        + "\"weight_bytes_per_token\":%d,\"copy_gbps\":%.2f,\"read_gbps\":%.2f,\"bound_tokens_per_s\":%.2f,"
                        + "\"bound_tokens_per_s_read\":%.2f,\"decode_tokens_per_s\":%.2f,\"fraction_of_bound\":%.3f,\"fraction_of_read_bound\":%.3f,"
                        + "\"rounds\":%d,\"backend\":\"%s\",\"agreement\":%s,\"llamacpp\":%s}%n",
                s, dtype, gguf == null ? "null" : "\"" + gguf.toString().replace("\\", "/").replace("\"", "'") + "\"", f.promptTokens(), f.promptTokensPerS(), d,
                f.bytesPerAdapter(), f.kvCacheBytesPerSlot(), rss, Parallel.THREADS, bd.bytesPerToken(), bd.copyGBps(), bd.readGBps(), bd.tokensPerS(),
                bd.tokensPerSRead(), bd.oneTokensPerS(), bd.fraction(), bd.fractionRead(), bd.rounds(), GemmBackend.current().name(),
                agree == null ? "null" : String.format(Locale.ROOT, "{\"positions\":%d,\"top1\":%.4f,\"max_logit_diff\":%.6g,\"rel_err\":%.3e,"
                                + "\"product_rel_err\":%.3e}", agree.positions(), agree.top1(), agree.maxLogitDiff(), agree.relErr(), agree.productRelErr()), p);
    }
}
