package dev.llamaadapter.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The tiled token branch ({@link TiledAttention}) against the per-token rows, its scalar twin here: forward
 * and backward of the whole attention (prompt branch included when K > 0) agree to 1e-5 relative (norm of
 * the difference over norm of the reference), at lengths on, just past and between block edges.
 */
class AttentionTiledTest {
    static final double TOLERANCE = 1e-5;

    static Stream<Arguments> shapes() {
        List<Arguments> a = new ArrayList<>();
        for (int T : new int[] {64, 65, 127, 200, 300})
            for (int K : new int[] {0, 5})
                for (int[] heads : new int[][] {{4, 2}, {4, 4}}) a.add(Arguments.of(2, T, heads[0], heads[1], 64, K));
        // head dimensions that are not a multiple of the kernel's width: padded with zeros
        a.add(Arguments.of(1, 100, 4, 2, 8, 3));
        a.add(Arguments.of(2, 70, 2, 1, 20, 0));
        a.add(Arguments.of(1, 129, 6, 3, 48, 2));
        a.add(Arguments.of(1, 70, 4, 2, 64, 20)); // more prompts than vector lanes
        return a.stream();
    }

    @ParameterizedTest(name = "B={0} T={1} H={2} Hkv={3} hd={4} K={5}")
    @MethodSource("shapes")
    void tiledMatchesPerTokenRows(int B, int T, int H, int Hkv, int hd, int K) {
        tiledMatchesRows(B, T, H, Hkv, hd, K, 0);
    }

    /** Sliding windows (mistral, spec §7): shorter than a block, across block edges, wider than the sequence, W = 2 (at W = 1 dk is exactly 0 and only rounding is left to compare). */
    @ParameterizedTest(name = "B={0} T={1} H={2} Hkv={3} hd={4} K={5} W={6}")
    @org.junit.jupiter.params.provider.CsvSource({"2,130,4,2,16,3,5", "1,200,2,1,8,0,64", "1,150,2,2,24,2,70", "2,100,4,2,64,5,2",
            "1,90,2,1,16,2,500", "1,260,2,1,16,0,129"})
    void windowedTiledMatchesPerTokenRows(int B, int T, int H, int Hkv, int hd, int K, int W) {
        tiledMatchesRows(B, T, H, Hkv, hd, K, W, (float) (1 / Math.sqrt(hd)), 0f);
    }

    /** gemma2's attention (spec §7): another query scale and softcapped token and prompt scores, with and without a window. */
    @ParameterizedTest(name = "B={0} T={1} H={2} Hkv={3} hd={4} K={5} W={6} scale={7} cap={8}")
    @org.junit.jupiter.params.provider.CsvSource({"1,100,4,2,32,3,4,0.25,1.5", "2,70,2,1,16,2,0,0.5,2.0", "1,140,2,2,24,5,65,0.3,50"})
    void softcappedTiledMatchesPerTokenRows(int B, int T, int H, int Hkv, int hd, int K, int W, float scale, float cap) {
        tiledMatchesRows(B, T, H, Hkv, hd, K, W, scale, cap);
    }

    private void tiledMatchesRows(int B, int T, int H, int Hkv, int hd, int K, int W) {
        tiledMatchesRows(B, T, H, Hkv, hd, K, W, (float) (1 / Math.sqrt(hd)), 0f);
    }

    private void tiledMatchesRows(int B, int T, int H, int Hkv, int hd, int K, int W, float scale, float cap) {
        Random r = new Random(T * 131 + H * 17 + Hkv * 5 + hd + K + 7L * W);
        int qw = H * hd, kw = Hkv * hd, M = B * T, Kp = Math.max(K, 1);
        float[] q = rand(r, M * qw), k = rand(r, M * kw), v = rand(r, M * kw), dout = rand(r, M * qw);
        float[] ak = rand(r, Kp * kw), av = rand(r, Kp * kw), gamma = rand(r, H);
        Attention att = new Attention(B, T, H, Hkv, hd, K, false, W, scale, cap);

        float[] outRows = new float[M * qw], probs = new float[B * H * T * T];                 // [B, H, T, T]
        float[] ppRows = new float[B * H * T * Kp], poRows = new float[M * qw];
        att.forwardByRows(q, k, v, outRows, probs, ak, av, gamma, ppRows, poRows);
        float[] out = new float[M * qw], saved = new float[(int) TiledAttention.savedFloats(B, T, H, hd)]; // lse [B, H, T], O [M, qw]
        float[] pp = new float[B * H * T * Kp], po = new float[M * qw];
        att.forwardTiled(q, k, v, out, saved, ak, av, gamma, pp, po);
        assertThat(relErr(out, outRows)).isLessThan(TOLERANCE);
        assertThat(relErr(pp, ppRows)).isLessThan(TOLERANCE);
        assertThat(relErr(po, poRows)).isLessThan(TOLERANCE);
        // the saved token output is the token branch alone: out minus the gated prompt part
        float[] tokenOut = new float[M * qw];
        for (int m = 0; m < M; m++)
            for (int h = 0; h < H; h++)
                for (int d = 0; d < hd; d++) {
                    int i = m * qw + h * hd + d;
                    tokenOut[i] = outRows[i] - (K > 0 ? gamma[h] * poRows[i] : 0f);
                }
        assertThat(relErr(java.util.Arrays.copyOfRange(saved, B * H * T, saved.length), tokenOut)).isLessThan(TOLERANCE);
        // lse against the probabilities: p_tj = exp(s_tj − lse_t) for the first key (unmasked only without a window)
        if (W == 0 && cap == 0) for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t += 37) {
                    int g = h / (H / Hkv);
                    double s0 = 0;
                    for (int d = 0; d < hd; d++) s0 += q[(b * T + t) * qw + h * hd + d] * k[b * T * kw + g * hd + d];
                    s0 /= Math.sqrt(hd);
                    assertThat(Math.exp(s0 - saved[(b * H + h) * T + t]))
                            .isCloseTo(probs[((b * H + h) * T + t) * T], org.assertj.core.data.Offset.offset(1e-5));
                }

        float[][] rows = backward(att, false, q, k, v, probs, dout, ak, av, gamma, ppRows, poRows, B, T, H, kw, qw, Kp);
        float[][] tiled = backward(att, true, q, k, v, saved, dout, ak, av, gamma, pp, po, B, T, H, kw, qw, Kp);
        String[] names = {"dq", "dk", "dv", "dgamma", "dak", "dav"};
        for (int i = 0; i < names.length; i++) {
            if (i >= 3 && K == 0) break;
            assertThat(relErr(tiled[i], rows[i])).as(names[i]).isLessThan(TOLERANCE);
        }
    }

    /** dq, dk, dv, dgammaPart, dakPart, davPart of one backward (buffers filled with junk first: all are overwritten or summed into zeros). */
    private static float[][] backward(Attention att, boolean tiled, float[] q, float[] k, float[] v, float[] saved, float[] dout,
                                      float[] ak, float[] av, float[] gamma, float[] pp, float[] po, int B, int T, int H, int kw,
                                      int qw, int Kp) {
        int M = B * T;
        float[] dq = new float[M * qw], dk = new float[M * kw], dv = new float[M * kw];
        java.util.Arrays.fill(dq, 7f); java.util.Arrays.fill(dk, 7f); java.util.Arrays.fill(dv, 7f);
        float[] dg = new float[B * H], dak = new float[B * Kp * kw], dav = new float[B * Kp * kw];
        if (tiled) att.backwardTiled(q, k, v, saved, dout, dq, dk, dv, ak, av, gamma, pp, po, dg, dak, dav);
        else att.backwardByRows(q, k, v, saved, dout, dq, dk, dv, ak, av, gamma, pp, po, dg, dak, dav);
        return new float[][] {dq, dk, dv, dg, dak, dav};
    }

    /**
     * Each (sequence, head) forward and (sequence, kv head) backward owns its outputs and sums in one fixed
     * order, so the pool's split cannot change a bit: the parallel result equals the one-by-one loop here.
     */
    @Test
    void resultsDoNotDependOnTheSplit() {
        int B = 3, T = 150, H = 4, Hkv = 2, hd = 64, qw = H * hd, kw = Hkv * hd, M = B * T;
        Random r = new Random(3);
        float[] q = rand(r, M * qw), k = rand(r, M * kw), v = rand(r, M * kw), dout = rand(r, M * qw);
        Attention att = new Attention(B, T, H, Hkv, hd, 0);
        float[] out = new float[M * qw], saved = new float[(int) Attention.savedFloats(B, T, H, hd)];
        att.forward(q, k, v, out, saved, null, null, null, null, null);
        float[] dq = new float[M * qw], dk = new float[M * kw], dv = new float[M * kw];
        att.backward(q, k, v, saved, dout, dq, dk, dv, null, null, null, null, null, null, null, null);

        float[] out1 = new float[M * qw], saved1 = new float[saved.length];
        for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) TiledAttention.forwardHead(B, T, H, Hkv, hd, b, h, q, k, v, out1, saved1);
        float[] dq1 = new float[M * qw], dk1 = new float[M * kw], dv1 = new float[M * kw];
        for (int b = B - 1; b >= 0; b--)
            for (int g = Hkv - 1; g >= 0; g--) TiledAttention.backwardGroup(B, T, H, Hkv, hd, b, g, q, k, v, saved1, dout, dq1, dk1, dv1);
        assertThat(out1).containsExactly(out);
        assertThat(saved1).containsExactly(saved);
        assertThat(dq1).containsExactly(dq);
        assertThat(dk1).containsExactly(dk);
        assertThat(dv1).containsExactly(dv);
    }

    /** Every element of dq, dk, dv of the tiled backward against central differences of the double-precision twin. */
    @Test
    void tiledBackwardMatchesFiniteDifferences() {
        int B = 1, T = 70, H = 2, Hkv = 1, hd = 8, K = 2, qw = H * hd, kw = Hkv * hd, M = B * T;
        assertThat(T).isGreaterThanOrEqualTo(Attention.TILED_MIN_T);
        Random r = new Random(70);
        float[] q = KernelsTest.rand(r, M * qw, 1), k = KernelsTest.rand(r, M * kw, 1), v = KernelsTest.rand(r, M * kw, 1);
        float[] ak = KernelsTest.rand(r, K * kw, 1), av = KernelsTest.rand(r, K * kw, 1), gamma = KernelsTest.rand(r, H, 0.7);
        float[] dout = KernelsTest.rand(r, M * qw, 1);
        Attention att = new Attention(B, T, H, Hkv, hd, K);
        float[] out = new float[M * qw], saved = new float[(int) Attention.savedFloats(B, T, H, hd)];
        float[] pp = new float[B * H * T * K], po = new float[M * qw];
        att.forward(q, k, v, out, saved, ak, av, gamma, pp, po);
        float[] dq = new float[M * qw], dk = new float[M * kw], dv = new float[M * kw];
        att.backward(q, k, v, saved, dout, dq, dk, dv, ak, av, gamma, pp, po, new float[B * H], new float[B * K * kw],
                new float[B * K * kw]);
        Function<float[], Double> f = ignored -> KernelsTest.weightedD(ScalarKernels.attention(q, k, v, ak, av, gamma, B, T, H, Hkv, hd, K), dout);
        float eps = 1e-2f;
        assertThat(KernelsTest.relErr(dq, KernelsTest.numericGrad(q, f, eps))).isLessThan(1e-3);
        assertThat(KernelsTest.relErr(dk, KernelsTest.numericGrad(k, f, eps))).isLessThan(1e-3);
        assertThat(KernelsTest.relErr(dv, KernelsTest.numericGrad(v, f, eps))).isLessThan(1e-3);
    }

    /** The micro-kernel's product with every stride form and mask against a plain triple loop. */
    @Test
    void productMatchesScalarTwin() {
        Random r = new Random(9);
        int M = 64, kc = 64, N = 2 * TiledAttention.NR, ld = N + 5;
        float[] a = rand(r, M * kc), b = rand(r, kc * ld);
        for (int mask : new int[] {TiledAttention.FULL, TiledAttention.A_LOWER, TiledAttention.A_UPPER, TiledAttention.C_LOWER})
            for (boolean transposed : new boolean[] {false, true}) {
                float[] am = a.clone(); // zero what the mask promises is zero
                for (int i = 0; i < M; i++)
                    for (int kk = 0; kk < kc; kk++) {
                        int at = transposed ? kk * M + i : i * kc + kk;
                        if (mask == TiledAttention.A_LOWER && kk > i || mask == TiledAttention.A_UPPER && kk < i) am[at] = 0f;
                    }
                float[] c = rand(r, M * ld), want = new float[M * ld];
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        double s = c[i * ld + j];
                        for (int kk = 0; kk < kc; kk++) s += (double) am[transposed ? kk * M + i : i * kc + kk] * b[kk * ld + j];
                        want[i * ld + j] = (float) s;
                    }
                float[] got = c.clone();
                if (transposed) TiledAttention.product(am, 0, 1, M, M, kc, b, 0, ld, N, got, 0, ld, true, mask);
                else TiledAttention.product(am, 0, kc, 1, M, kc, b, 0, ld, N, got, 0, ld, true, mask);
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        if (mask == TiledAttention.C_LOWER && j > i) continue; // not promised
                        assertThat(got[i * ld + j]).as("mask %d transposed %s [%d, %d]", mask, transposed, i, j)
                                .isCloseTo(want[i * ld + j], org.assertj.core.data.Offset.offset(1e-5f));
                    }
            }
    }

    static float[] rand(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    /** ‖got − want‖ / ‖want‖. */
    static double relErr(float[] got, float[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            double d = (double) got[i] - want[i];
            num += d * d;
            den += (double) want[i] * want[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-300));
    }
}
