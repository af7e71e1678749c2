package dev.llamaadapter.generate;

import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.KvCache;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.Transformer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Inference figures for bench: prompt processing (one sequence, T tokens in one pass) and decoding
 * with n sequences in one batch, each through its own adapter (n adapters loaded over one base).
 */
public final class GenerationBench {
    private GenerationBench() {}

    public record Decode(int adapters, double tokensPerS, double msPerStep) {}

    public record Figures(double promptTokensPerS, int promptTokens, List<Decode> decode, long bytesPerAdapter, long kvCacheBytesPerSlot) {}

    public static Figures run(Transformer model, int K, int L, int promptTokens, int decodeSteps, int[] adapterCounts) {
        var c = model.config;
        int maxN = 1;
        for (int n : adapterCounts) maxN = Math.max(maxN, n);
        PreparedPrompts[] adapters = new PreparedPrompts[maxN];
        for (int a = 0; a < maxN; a++) adapters[a] = adapter(model, K, L, a);
        int ctx = promptTokens + decodeSteps + 2;
        int[] prompt = randomPrompt(c.vocabSize(), promptTokens);

        // prompt processing: the best of a few single-sequence passes (the first warms the JIT up)
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 3; rep++) {
            Generator g = new Generator(model, null, 1, ctx);
            Generator.Result res = g.generate(prompt, adapters[0], new SamplingParams(0, 0, 1, 1, 0, 1, List.of(), false), null);
            best = Math.min(best, res.promptNanos());
        }
        double promptTps = promptTokens / (best / 1e9);

        List<Decode> out = new ArrayList<>();
        for (int n : adapterCounts) out.add(decode(model, adapters, n, prompt, decodeSteps));
        return new Figures(promptTps, promptTokens, out, adapters[0].bytes(), KvCache.bytes(c, 1, ctx));
    }

    /**
     * n sequences decoding together, sequence i through adapters[i] (as many as there are up to n), after one
     * prompt token each: the batched steps' throughput, timed from the third step to the last.
     */
    public static Decode decode(Transformer model, PreparedPrompts[] adapters, int n, int[] prompt, int decodeSteps) {
        SamplingParams greedy = new SamplingParams(0, 0, 1, 1, 0, decodeSteps, List.of(), false);
        Generator g = new Generator(model, null, n, decodeSteps + 2);
        for (int i = 0; i < n; i++) g.submit(new int[]{prompt[i % prompt.length]}, adapters[i % adapters.length], greedy, null);
        g.step(); // prompts (one token each) and the first sampled token
        g.step();
        long t0 = System.nanoTime();
        int steps = 0;
        boolean more;
        do {
            more = g.step();
            steps++;
        } while (more);
        double secs = (System.nanoTime() - t0) / 1e9;
        return new Decode(n, (double) steps * n / secs, secs * 1000 / Math.max(steps, 1));
    }

    /** n random token ids (seeded: every run decodes the same tokens). */
    public static int[] randomPrompt(int vocab, int n) {
        Random r = new Random(5);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    /** A random adapter of the bench's kind (gates drawn so the prompt branch contributes), ready for decoding. */
    public static PreparedPrompts adapter(Transformer model, int K, int L, int seed) {
        var c = model.config;
        Random r = new Random(5 + seed);
        AdaptionPrompts p = AdaptionPrompts.init(K, L, c.hiddenSize(), c.numAttentionHeads(), GateActivation.TANH, seed);
        for (int i = 0; i < p.gate.length; i++) p.gate[i] = (float) (0.1 * r.nextGaussian());
        return model.prepare(p);
    }
}
