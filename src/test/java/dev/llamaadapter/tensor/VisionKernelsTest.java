package dev.llamaadapter.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The multimodal kernels against plain scalar twins, and LayerNorm's backward against finite differences. */
class VisionKernelsTest {
    static float[] rand(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    static void close(float[] got, double[] want, double tol) {
        for (int i = 0; i < want.length; i++) assertThat((double) got[i]).as("element %d", i).isCloseTo(want[i], within(tol * (1 + Math.abs(want[i]))));
    }

    @Test
    void layerNormMatchesItsScalarTwin() {
        Random r = new Random(1);
        int M = 7, D = 37;
        float[] x = rand(r, M * D), w = rand(r, D), b = rand(r, D), y = new float[M * D], mean = new float[M], rstd = new float[M];
        LayerNorm.forward(x, w, b, 1e-5f, M, D, y, mean, rstd);
        double[] want = new double[M * D];
        for (int m = 0; m < M; m++) {
            double mu = 0, v = 0;
            for (int i = 0; i < D; i++) mu += x[m * D + i];
            mu /= D;
            for (int i = 0; i < D; i++) v += (x[m * D + i] - mu) * (x[m * D + i] - mu);
            double rs = 1 / Math.sqrt(v / D + 1e-5);
            for (int i = 0; i < D; i++) want[m * D + i] = (x[m * D + i] - mu) * rs * w[i] + b[i];
        }
        close(y, want, 1e-5);
        // in place gives the same
        float[] x2 = x.clone();
        LayerNorm.forward(x2, w, b, 1e-5f, M, D, x2, null, null);
        assertThat(x2).containsExactly(y);
    }

    @Test
    void layerNormBackwardMatchesFiniteDifferences() {
        Random r = new Random(2);
        int M = 3, D = 11;
        float[] x = rand(r, M * D), w = rand(r, D), b = rand(r, D), c = rand(r, M * D); // L = Σ c·y
        float[] y = new float[M * D], mean = new float[M], rstd = new float[M];
        LayerNorm.forward(x, w, b, 1e-5f, M, D, y, mean, rstd);
        float[] dx = new float[M * D], dw = new float[D], db = new float[D];
        LayerNorm.backward(x, w, mean, rstd, c, M, D, dx, dw, db);
        java.util.function.DoubleSupplier loss = () -> {
            float[] yy = new float[M * D];
            LayerNorm.forward(x, w, b, 1e-5f, M, D, yy, null, null);
            double s = 0;
            for (int i = 0; i < yy.length; i++) s += (double) c[i] * yy[i];
            return s;
        };
        for (float[][] pg : new float[][][]{{x, dx}, {w, dw}, {b, db}})
            for (int i = 0; i < pg[0].length; i += 3) {
                float keep = pg[0][i];
                pg[0][i] = keep + 1e-2f;
                double up = loss.getAsDouble();
                pg[0][i] = keep - 1e-2f;
                double down = loss.getAsDouble();
                pg[0][i] = keep;
                assertThat((up - down) / 2e-2).as("element %d", i).isCloseTo(pg[1][i], within(2e-3 + 2e-3 * Math.abs(pg[1][i])));
            }
    }

    @Test
    void quickGeluAndBiasMatchTheirScalarTwins() {
        Random r = new Random(3);
        int n = 10_000 + 13;
        float[] x = rand(r, n);
        for (int i = 0; i < n; i += 97) x[i] *= 30; // the tails: e^(−1.702x) overflows or vanishes
        double[] want = new double[n];
        for (int i = 0; i < n; i++) want[i] = x[i] / (1 + Math.exp(-1.702 * x[i]));
        QuickGelu.forward(x, n);
        close(x, want, 1e-6);
        int M = 5, N = 19;
        float[] y = rand(r, M * N), b = rand(r, N), y0 = y.clone(), db = new float[N];
        Bias.add(y, b, M, N);
        for (int i = 0; i < M * N; i++) assertThat(y[i]).isEqualTo(y0[i] + b[i % N]);
        Bias.backwardAccumulate(y0, M, N, db);
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int m = 0; m < M; m++) s += y0[m * N + j];
            assertThat((double) db[j]).isCloseTo(s, within(1e-5));
        }
    }

    @Test
    void bidirectionalAttentionMatchesItsScalarTwin() {
        Random r = new Random(4);
        int B = 2, T = 5, H = 3, hd = 20, w = H * hd;
        float[] q = rand(r, B * T * w), k = rand(r, B * T * w), v = rand(r, B * T * w), out = new float[B * T * w];
        BidirectionalAttention.forwardSimple(q, k, v, out, B, T, H, hd);
        float[] tiled = new float[out.length];
        new BidirectionalAttention(T, H, hd).forward(q, k, v, tiled, B);
        double[] want = new double[out.length];
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++) {
                    double[] s = new double[T];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j < T; j++) {
                        for (int i = 0; i < hd; i++) s[j] += q[(b * T + t) * w + h * hd + i] * k[(b * T + j) * w + h * hd + i];
                        s[j] /= Math.sqrt(hd);
                        max = Math.max(max, s[j]);
                    }
                    for (int j = 0; j < T; j++) sum += s[j] = Math.exp(s[j] - max);
                    for (int j = 0; j < T; j++)
                        for (int i = 0; i < hd; i++) want[(b * T + t) * w + h * hd + i] += s[j] / sum * v[(b * T + j) * w + h * hd + i];
                }
        close(out, want, 1e-5);
        close(tiled, want, 1e-5);
    }

    @Test
    void perSamplePromptsEqualSharedOnesWhenEverySampleHasTheSame() {
        Random r = new Random(5);
        int B = 3, T = 4, H = 4, Hkv = 2, hd = 8, K = 3, qw = H * hd, kw = Hkv * hd;
        float[] q = rand(r, B * T * qw), k = rand(r, B * T * kw), v = rand(r, B * T * kw), ak = rand(r, K * kw), av = rand(r, K * kw);
        float[] gamma = rand(r, H), akB = new float[B * K * kw], avB = new float[B * K * kw];
        for (int b = 0; b < B; b++) {
            System.arraycopy(ak, 0, akB, b * K * kw, K * kw);
            System.arraycopy(av, 0, avB, b * K * kw, K * kw);
        }
        float[] o1 = new float[B * T * qw], o2 = new float[B * T * qw], pp1 = new float[B * H * T * K], pp2 = pp1.clone();
        float[] po1 = new float[B * T * qw], po2 = new float[B * T * qw];
        new Attention(B, T, H, Hkv, hd, K).forward(q, k, v, o1, new float[(int) Attention.savedFloats(B, T, H, hd)], ak, av, gamma, pp1, po1);
        float[] probs = new float[(int) Attention.savedFloats(B, T, H, hd)];
        new Attention(B, T, H, Hkv, hd, K, true).forward(q, k, v, o2, probs, akB, avB, gamma, pp2, po2);
        assertThat(o2).containsExactly(o1);
        float[] dout = rand(r, B * T * qw), dq1 = new float[B * T * qw], dq2 = new float[B * T * qw];
        float[] dk = new float[B * T * kw], dv = new float[B * T * kw];
        float[] g1 = new float[B * H], g2 = new float[B * H], dak1 = new float[B * K * kw], dak2 = new float[B * K * kw];
        float[] dav1 = new float[B * K * kw], dav2 = new float[B * K * kw];
        new Attention(B, T, H, Hkv, hd, K).backward(q, k, v, probs, dout, dq1, dk, dv, ak, av, gamma, pp1, po1, g1, dak1, dav1);
        new Attention(B, T, H, Hkv, hd, K, true).backward(q, k, v, probs, dout, dq2, dk, dv, akB, avB, gamma, pp2, po2, g2, dak2, dav2);
        assertThat(dq2).containsExactly(dq1);
        assertThat(dak2).containsExactly(dak1);
        assertThat(dav2).containsExactly(dav1);
    }
}
