package dev.llamaadapter.cli;

import dev.llamaadapter.bench.MemoryBandwidth;
import dev.llamaadapter.bench.Peers;
import dev.llamaadapter.model.Activations;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.LlamaWeights;
import dev.llamaadapter.model.StepFlops;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.GemmBackend;
import dev.llamaadapter.tensor.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;

/** Times training steps (forward + backward) on a random model of a named shape, built in memory. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Milliseconds per training step (forward + backward), tokens/s, GFLOP/s and peak memory on a random model.")
public final class BenchCommand implements Callable<Integer> {

    /**
     * A named benchmark shape: model and step. scored: the share of each sequence's positions that carry a label
     * (1: all; 0.5: the second half, as instruction data masks its prompt, so the head runs on half the rows).
     */
    enum Shape {
        small("small", LlamaConfig.of(512, 1408, 8, 8, 8, 4096, false), 4, 128, 10, 6, 1),
        tinyllama("tinyllama", LlamaConfig.of(2048, 5632, 22, 32, 4, 32000, false), 1, 256, 10, 20, 1),
        /** Llama-3.2-1B: tied 128,256-token head, llama3 rope (factor 32, original 8192, θ 500000). */
        llama3_2_1b("llama3.2-1b", new LlamaConfig(2048, 8192, 16, 32, 8, 128256, 1e-5, 500000, true, null, 131072, null,
                java.util.List.of(), "silu", new dev.llamaadapter.model.Architecture(dev.llamaadapter.model.Family.LLAMA, 64,
                dev.llamaadapter.model.RopeScaling.llama3(32, 1, 4, 8192), 64, false, false, false, 0, 1 / Math.sqrt(64), 0, 0)),
                1, 256, 10, 14, 0.5),
        /** Qwen2.5-0.5B: tied 151,936-token head, q/k/v biases, θ 1e6. */
        qwen2_5_0_5b("qwen2.5-0.5b", new LlamaConfig(896, 4864, 24, 14, 2, 151936, 1e-6, 1000000, true, null, 32768, null,
                java.util.List.of(), "silu", new dev.llamaadapter.model.Architecture(dev.llamaadapter.model.Family.QWEN2, 64,
                dev.llamaadapter.model.RopeScaling.NONE, 64, true, false, false, 0, 1 / Math.sqrt(64), 0, 0)),
                1, 256, 10, 22, 0.5);

        final String id;
        final LlamaConfig config;
        final int B, T, K, L;
        final double scored;

        Shape(String id, LlamaConfig config, int B, int T, int K, int L, double scored) {
            this.id = id; this.config = config; this.B = B; this.T = T; this.K = K; this.L = L; this.scored = scored;
        }

        @Override
        public String toString() {
            return id;
        }
    }

    static final class ShapeConverter implements picocli.CommandLine.ITypeConverter<Shape> {
        @Override
        public Shape convert(String value) {
            for (Shape s : Shape.values()) if (s.id.equals(value)) return s;
            throw new picocli.CommandLine.TypeConversionException("'" + value + "': small, tinyllama, llama3.2-1b or qwen2.5-0.5b");
        }
    }

    enum Dt { f32, bf16, f16, q8_0, q4_0, q4_k_m, q5_k_m, q6_k }

    /** The quantize target the dtype names: one type for all weights, or llama-quantize's mix (q4_k_m, q5_k_m, q6_k). */
    dev.llamaadapter.model.QuantMix mix() {
        return dev.llamaadapter.model.QuantMix.parse(dtype.name());
    }

    @Option(names = "--shape", defaultValue = "small", converter = ShapeConverter.class,
            description = "small | tinyllama | llama3.2-1b | qwen2.5-0.5b (default ${DEFAULT-VALUE})")
    Shape shape;
    @Option(names = "--dtype", defaultValue = "f32", description = "weight dtype: f32 | bf16 | f16 | q8_0 | q4_0, or with --generate / --serve a mix "
            + "as quantize writes it: q4_k_m | q5_k_m | q6_k (the bench model then goes through a GGUF file) (default ${DEFAULT-VALUE})")
    Dt dtype;
    @Option(names = "--steps", description = "timed steps (default 5 for small, 3 for tinyllama)")
    Integer steps;
    @Option(names = "--warmup", defaultValue = "2", description = "untimed steps first, ours and the peers' (default ${DEFAULT-VALUE})")
    int warmup;
    @Option(names = "--generate", description = "inference instead of training: prompt processing, and decoding with 1, 4 and 16 adapters batched")
    boolean generate;
    @Option(names = "--serve", paramLabel = "N", description = "a real serve in this process under 1 streaming client, then N at once: aggregate "
            + "tokens/s against one client's and first-token latency (model: --model, else the shape's bench model as GGUF, else stories260K)")
    Integer serveClients;
    @Option(names = "--model", description = "with --serve: the model to serve (any format serve reads)")
    Path serveModel;
    @Option(names = "--tokens", defaultValue = "64", description = "with --serve: tokens each client streams (default ${DEFAULT-VALUE})")
    int serveTokens;
    @Option(names = "--backend", description = "matrix products: java | onednn | onednn-bf16 (bf16 weights with bf16 activations) | int8 "
            + "(GGUF Q8_0/Q4_0/Q4_K/Q5_K/Q6_K weights times int8-quantised activations, native kernels built on first use; decoding and batches) | "
            + "a chain such as int8+onednn-bf16; default: -Dllamaadapter.gemm or LLAMA_ADAPTER_GEMM, else java)")
    String backend;
    @Option(names = "--seq", description = "sequence length instead of the shape's (e.g. long sequences for --recompute)")
    Integer seq;
    @Option(names = "--batch", description = "batch size instead of the shape's")
    Integer batch;
    @Option(names = "--recompute", description = "activation recomputation: keep only each adapted layer's input, recompute the rest in the backward")
    boolean recompute;
    @Option(names = "--peers", description = "also run the peer benchmarks of ../shared/peers on the same work, after ours, and print their figures "
            + "and our ratio: libtorch through DJL and PyTorch for training steps, llama.cpp for --generate")
    boolean peers;
    @Option(names = "--peer", split = ",", description = "which peers (implies --peers): djl (libtorch 2.7.1), torch (PyTorch 1.13, python) for "
            + "training steps (default djl,torch); llamacpp (llama.cpp b4747's llama-bench, built on first use) for --generate (its default)")
    java.util.Set<String> peerNames;

    /** Whether the named peer runs: --peer names it, or --peers without --peer and it is the mode's default. */
    boolean peersWanted(String peer) {
        if (peerNames != null) return peerNames.contains(peer);
        return peers && (generate ? peer.equals("llamacpp") : peer.equals("djl") || peer.equals("torch"));
    }
    @Option(names = "--peer-timeout", defaultValue = "1200", description = "seconds a peer may run before it is stopped (default ${DEFAULT-VALUE})")
    long peerTimeout;
    @Option(names = "--peers-dir", description = "the peers folder (default: ../shared/peers)")
    Path peersDir;
    @Option(names = "--peers-work", defaultValue = "/tmp/llama-adapter-peers", description = "where the peers are copied, built and given a model (default ${DEFAULT-VALUE})")
    Path peersWork;
    @Option(names = "--json", description = "print one JSON line: shape, dtype, ms_per_step, tokens_per_s, gflops, peak_rss_mb")
    boolean json;

    /** The step's batch and sequence length: the shape's, or --batch / --seq. */
    private int B, T;

    @Override
    public Integer call() {
        Shape s = shape;
        B = batch != null ? batch : s.B;
        T = seq != null ? seq : s.T;
        if (B < 1 || T < 1) throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "--batch and --seq must be positive");
        GemmBackend gemm = backend != null ? GemmBackend.use(backend) : GemmBackend.current();
        int n = steps != null ? steps : (s == Shape.small ? 5 : 3);
        boolean isMix = dtype == Dt.q4_k_m || dtype == Dt.q5_k_m || dtype == Dt.q6_k;
        if (isMix && !generate && serveClients == null)
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "--dtype " + dtype + " is a quantize mix: bench it with --generate or --serve");
        DType dt = isMix ? null : DType.valueOf(dtype.name().toUpperCase(Locale.ROOT));
        LlamaConfig c = s.config;
        if (generate || serveClients != null) {
            try {
                return serveClients != null ? BenchServe.run(this, s, dt, serveClients, serveTokens) : BenchGenerate.run(this, s, dt, T);
            } catch (Exception e) {
                throw new IllegalStateException("bench " + (generate ? "--generate" : "--serve") + ": " + e.getMessage(), e);
            }
        }
        long t0 = System.nanoTime();
        try (Arena arena = Arena.ofShared()) {
            LlamaWeights w = LlamaWeights.random(c, dt, 42, arena);
            double buildS = (System.nanoTime() - t0) / 1e9;
            Transformer model = new Transformer(c, w);
            AdaptionPrompts p = AdaptionPrompts.init(s.K, s.L, c.hiddenSize(), c.numAttentionHeads(), GateActivation.TANH, 7);
            Random r = new Random(1);
            for (int i = 0; i < p.gate.length; i++) p.gate[i] = (float) (0.1 * r.nextGaussian());
            int M = B * T;
            int[] ids = new int[M], labels = new int[M];
            for (int i = 0; i < M; i++) {
                ids[i] = r.nextInt(c.vocabSize());
                labels[i] = i % T >= T * (1 - s.scored) ? r.nextInt(c.vocabSize()) : dev.llamaadapter.tensor.CrossEntropy.IGNORE;
            }
            Activations a = model.activations(B, T, p, true, false, recompute);
            AdaptionPrompts g = p.zerosLike();
            double[] ms = new double[n];
            float loss = 0;
            for (int i = -warmup; i < n; i++) {
                long st = System.nanoTime();
                g.zero();
                model.forward(a, ids, p);
                loss = model.backward(a, labels, p, g);
                if (i >= 0) ms[i] = (System.nanoTime() - st) / 1e6;
            }
            double med = median(ms);
            double tokS = M / (med / 1000);
            double gflops = StepFlops.trainingStep(c, B, T, s.K, s.L, s.scored) / (med / 1000) / 1e9;
            long rss = peakRssMb();
            List<Peers.Result> peerResults = peersWanted("djl") || peersWanted("torch") ? runPeers(s, w, n) : List.of();
            StringBuilder pj = new StringBuilder();
            for (Peers.Result pr : peerResults)
                pj.append(pj.isEmpty() ? "" : ",").append(String.format(Locale.ROOT, "{\"peer\":\"%s\",\"ms_per_step\":%s,\"speedup\":%s,\"note\":\"%s\"}",
                        pr.peer(), pr.ran() ? String.format(Locale.ROOT, "%.2f", pr.msPerStep()) : "null",
                        pr.ran() ? String.format(Locale.ROOT, "%.3f", pr.msPerStep() / med) : "null", pr.note().replace("\"", "'")));
            long keptMb = Activations.keptBytes(c, B, T, s.K, s.L, false, false, recompute) >> 20;
            long otherMb = Activations.keptBytes(c, B, T, s.K, s.L, false, false, !recompute) >> 20;
            if (json) {
                System.out.printf(Locale.ROOT,
                        "{\"shape\":\"%s\",\"dtype\":\"%s\",\"ms_per_step\":%.2f,\"tokens_per_s\":%.2f,\"gflops\":%.2f,\"peak_rss_mb\":%d,\"backend\":\"%s\","
                                + "\"recompute\":%b,\"kept_mb\":%d,\"kept_mb_other\":%d,\"steps\":%d,\"threads\":%d,\"batch\":%d,\"seq\":%d,\"adapter_len\":%d,\"adapter_layers\":%d,\"loss\":%.6f,"
                                + "\"ms_per_step_all\":%s,\"peers\":[%s]}%n",
                        s, dtype, med, tokS, gflops, rss, gemm.name(), recompute, keptMb, otherMb, n, Parallel.THREADS, B, T, s.K, s.L, loss, Arrays.toString(round(ms)), pj);
            } else {
                System.out.printf(Locale.ROOT, "model %s: D %d, F %d, %d layers, %d heads (%d kv), vocab %d, %s weights (%.1f MB), built in %.1f s%n",
                        s, c.hiddenSize(), c.intermediateSize(), c.numHiddenLayers(), c.numAttentionHeads(), c.numKeyValueHeads(),
                        c.vocabSize(), dtype, weightBytes(c, dt) / 1e6, buildS);
                System.out.printf(Locale.ROOT, "step: B %d, T %d, adapter K %d, L %d (%,d trainable), %d threads, matmul backend %s%n",
                        B, T, s.K, s.L, p.parameterCount(), Parallel.THREADS, gemm.name());
                System.out.printf(Locale.ROOT, "%.1f ms/step (median of %d; all %s), %.1f tokens/s, %.1f GFLOP/s, peak RSS %d MB, loss %.4f%n",
                        med, n, Arrays.toString(round(ms)), tokS, gflops, rss, loss);
                System.out.printf(Locale.ROOT, "activations kept for the backward: %d MB %s recomputation (%d MB %s)%n",
                        keptMb, recompute ? "with" : "without", otherMb, recompute ? "without" : "with --recompute");
                for (Peers.Result pr : peerResults)
                    if (pr.ran()) System.out.printf(Locale.ROOT, "peer %s, %s: %.1f ms/step (%s); ours %.1f ms/step: %.2fx its throughput%n",
                            pr.peer(), dtype, pr.msPerStep(), pr.note(), med, pr.msPerStep() / med);
                    else System.out.printf(Locale.ROOT, "peer %s: not run (%s)%n", pr.peer(), pr.note());
            }
        }
        return 0;
    }

    /** The project's folder: where the jar (target/llama-adapter.jar) or the classes (target/classes) lie, two levels up. */
    static Path projectDir() {
        try {
            Path code = Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return code.toAbsolutePath().getParent().getParent();
        } catch (Exception e) {
            return Path.of("").toAbsolutePath();
        }
    }

    /** The peers on this step, or one line saying why there are none. */
    private List<Peers.Result> runPeers(Shape s, LlamaWeights ours, int n) {
        Path dir = Peers.locate(peersDir);
        if (dir == null) {
            System.err.println("bench --peers: no peers folder (" + (peersDir != null ? peersDir : "../shared/peers") + " is absent); nothing to compare with");
            return List.of();
        }
        if (dtype != Dt.f32 && dtype != Dt.bf16) {
            System.err.println("bench --peers: the peers run f32 and bf16 weights only, not " + dtype);
            return List.of();
        }
        String name = s + "-seed42"; // LlamaWeights.random(config, F32, 42): the model bench itself runs
        try {
            Path modelDir = peersWork.resolve("models").resolve(name);
            if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
                System.err.println("bench --peers: writing the benchmark model for the peers to " + modelDir);
                if (dtype == Dt.f32) Peers.writeModel(s.config, ours, modelDir);
                else try (Arena tmp = Arena.ofShared()) { // the peers make bf16 from an F32 file themselves: the same random model in F32
                    Peers.writeModel(s.config, LlamaWeights.random(s.config, DType.F32, 42, tmp), modelDir);
                }
            }
            if (!s.config.arch().isPlainLlama()) { // a family shape: the PyTorch peer over families_ref.py, f32
                if (dtype != Dt.f32) {
                    System.err.println("bench --peers: the families' peer runs f32 weights only, not " + dtype);
                    return List.of();
                }
                Path script = projectDir().resolve("scripts/torch_family_step.py");
                return Peers.runFamily(script, dir.resolveSibling("parity").toAbsolutePath(), modelDir, B, T, s.K, s.L, n, warmup,
                        Parallel.THREADS, peerTimeout);
            }
            return Peers.run(dir, peersWork, modelDir, B, T, s.K, s.L, dtype.name(), n, warmup, Parallel.THREADS,
                    peerNames != null ? peerNames : java.util.Set.of("djl", "torch"), peerTimeout);
        } catch (Exception e) {
            System.err.println("bench --peers: " + e);
            return List.of();
        }
    }

    static double median(double[] v) {
        double[] t = v.clone();
        Arrays.sort(t);
        int n = t.length;
        return n % 2 == 1 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    }

    private static double[] round(double[] ms) {
        double[] r = new double[ms.length];
        for (int i = 0; i < ms.length; i++) r[i] = Math.round(ms[i] * 10) / 10.0;
        return r;
    }

    static long weightBytes(LlamaConfig c, DType dt) {
        long V = c.vocabSize(), D = c.hiddenSize();
        return dt.bytes(perLayerElements(c) * c.numHiddenLayers() + V * D * (c.tieWordEmbeddings() ? 1 : 2));
    }

    /** Weights of one layer's seven projections. */
    static long perLayerElements(LlamaConfig c) {
        long D = c.hiddenSize(), F = c.intermediateSize(), hd = c.headDim();
        return D * c.numAttentionHeads() * hd * 2 + 2 * D * c.numKeyValueHeads() * hd + 3 * D * F;
    }

    /** Peak resident set (VmHWM) of this process in MB; -1 where /proc is not available. */
    static long peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
        } catch (Exception e) {
            // not Linux: report unknown
        }
        return -1;
    }
}
