package dev.llamaadapter.model;

import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cached path (prompt processing, then one token at a time) gives the training forward's logits at
 * every position, with and without an adapter, GQA included; sequences with different adapters batched
 * together give what each gives alone. Tolerance: 1e-5 relative (L2), the summation orders differ.
 */
class KvCacheTest {

    static double relErr(float[] a, int ao, float[] b, int bo, int n) {
        double num = 0, den = 0;
        for (int i = 0; i < n; i++) {
            double d = a[ao + i] - b[bo + i];
            num += d * d;
            den += (double) b[bo + i] * b[bo + i];
        }
        return Math.sqrt(num / den);
    }

    @ParameterizedTest(name = "H={0} Hkv={1} adapter={2}")
    @CsvSource({"4, 4, false", "4, 2, true", "6, 3, true", "4, 1, false"})
    void cachedLogitsEqualTheFullForward(int H, int Hkv, boolean withAdapter) {
        LlamaConfig cfg = LlamaConfig.of(24, 40, 3, H, Hkv, 31, false);
        Transformer t = new Transformer(cfg, LlamaWeights.random(cfg, DType.BF16, 5, Arena.ofAuto()));
        AdaptionPrompts p = null;
        if (withAdapter) {
            p = AdaptionPrompts.init(3, 2, 24, H, GateActivation.TANH, 1);
            for (int i = 0; i < p.gate.length; i++) p.gate[i] = 0.3f * (i % 5 - 2);
        }
        int T = 11, V = 31;
        Random r = new Random(2);
        int[] ids = new int[T];
        for (int i = 0; i < T; i++) ids[i] = r.nextInt(V);
        Activations a = t.activations(1, T, p, false, false);
        float[] full = t.forward(a, ids, p).clone();

        KvCache cache = new KvCache(cfg, 2, 32);
        PreparedPrompts pp = p == null ? null : t.prepare(p);
        Transformer.Scratch s = new Transformer.Scratch();
        float[] logits = new float[T * V];
        int pre = 5; // prompt processing in one pass
        int[] slot = new int[pre], pos = new int[pre], rows = new int[pre];
        PreparedPrompts[] pr = new PreparedPrompts[pre];
        for (int m = 0; m < pre; m++) {
            slot[m] = 1; pos[m] = m; rows[m] = m; pr[m] = pp;
        }
        t.forwardCached(cache, pre, java.util.Arrays.copyOf(ids, pre), slot, pos, pr, rows, logits, s);
        float[] one = new float[V];
        for (int m = pre; m < T; m++) { // then one token at a time
            t.forwardCached(cache, 1, new int[]{ids[m]}, new int[]{1}, new int[]{m}, new PreparedPrompts[]{pp}, new int[]{0}, one, s);
            System.arraycopy(one, 0, logits, m * V, V);
        }
        for (int m = 0; m < T; m++) assertThat(relErr(logits, m * V, full, m * V, V)).as("position %d", m).isLessThan(1e-5);
    }

    @ParameterizedTest(name = "Hkv={0}")
    @CsvSource({"4", "2"})
    void sequencesWithDifferentAdaptersBatchTogether(int Hkv) {
        LlamaConfig cfg = LlamaConfig.of(24, 40, 3, 4, Hkv, 31, false);
        Transformer t = new Transformer(cfg, LlamaWeights.random(cfg, DType.F32, 6, Arena.ofAuto()));
        AdaptionPrompts a = AdaptionPrompts.init(3, 2, 24, 4, GateActivation.TANH, 1), b = AdaptionPrompts.init(5, 3, 24, 4, GateActivation.IDENTITY, 2);
        java.util.Arrays.fill(a.gate, 0.5f);
        java.util.Arrays.fill(b.gate, -0.4f);
        PreparedPrompts[] who = {t.prepare(a), t.prepare(b), null};
        int T = 7, V = 31;
        int[][] seq = new int[3][T];
        Random r = new Random(3);
        for (int[] s : seq) for (int i = 0; i < T; i++) s[i] = r.nextInt(V);
        // alone: each sequence in its own cache
        float[][] alone = new float[3][T * V];
        for (int q = 0; q < 3; q++) {
            KvCache c = new KvCache(cfg, 1, 16);
            Transformer.Scratch s = new Transformer.Scratch();
            float[] one = new float[V];
            for (int m = 0; m < T; m++) {
                t.forwardCached(c, 1, new int[]{seq[q][m]}, new int[]{0}, new int[]{m}, new PreparedPrompts[]{who[q]}, new int[]{0}, one, s);
                System.arraycopy(one, 0, alone[q], m * V, V);
            }
        }
        // together: one batch of three rows per step
        KvCache c = new KvCache(cfg, 3, 16);
        Transformer.Scratch s = new Transformer.Scratch();
        float[] three = new float[3 * V];
        for (int m = 0; m < T; m++) {
            t.forwardCached(c, 3, new int[]{seq[0][m], seq[1][m], seq[2][m]}, new int[]{0, 1, 2}, new int[]{m, m, m}, who, new int[]{0, 1, 2}, three, s);
            for (int q = 0; q < 3; q++) assertThat(relErr(three, q * V, alone[q], m * V, V)).as("seq %d pos %d", q, m).isLessThan(1e-5);
        }
    }
}
