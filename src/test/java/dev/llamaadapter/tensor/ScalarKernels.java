package dev.llamaadapter.tensor;

/** Plain double-precision twins of the kernels, written for clarity only; tests compare against them. */
final class ScalarKernels {
    private ScalarKernels() {}

    static double[] rmsNorm(float[] x, float[] w, double eps, int M, int D) {
        double[] y = new double[M * D];
        for (int m = 0; m < M; m++) {
            double ss = 0;
            for (int i = 0; i < D; i++) ss += (double) x[m * D + i] * x[m * D + i];
            double r = 1 / Math.sqrt(ss / D + eps);
            for (int i = 0; i < D; i++) y[m * D + i] = x[m * D + i] * r * w[i];
        }
        return y;
    }

    /** rotate_half RoPE on x [B·T, heads·hd], positions t. */
    static double[] rope(float[] x, int B, int T, int heads, int hd, double theta) {
        double[] y = new double[x.length];
        int half = hd / 2;
        for (int m = 0; m < B * T; m++) {
            int p = m % T;
            for (int h = 0; h < heads; h++)
                for (int j = 0; j < half; j++) {
                    double a = p * Math.pow(theta, -2.0 * j / hd);
                    int o = m * heads * hd + h * hd;
                    double x1 = x[o + j], x2 = x[o + j + half];
                    y[o + j] = x1 * Math.cos(a) - x2 * Math.sin(a);
                    y[o + j + half] = x2 * Math.cos(a) + x1 * Math.sin(a);
                }
        }
        return y;
    }

    static double[] swiglu(float[] g, float[] u) {
        double[] a = new double[g.length];
        for (int i = 0; i < g.length; i++) a[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        return a;
    }

    static double crossEntropy(float[] logits, int[] labels, int M, int V) {
        double total = 0;
        int n = 0;
        for (int m = 0; m < M; m++) {
            if (labels[m] == -100) continue;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < V; i++) max = Math.max(max, logits[m * V + i]);
            double s = 0;
            for (int i = 0; i < V; i++) s += Math.exp(logits[m * V + i] - max);
            total += max + Math.log(s) - logits[m * V + labels[m]];
            n++;
        }
        return n == 0 ? 0 : total / n;
    }

    /** Causal attention plus gated prompt attention, straight from spec §2. */
    static double[] attention(float[] q, float[] k, float[] v, float[] ak, float[] av, float[] gamma,
                              int B, int T, int H, int Hkv, int hd, int K) {
        double[] out = new double[B * T * H * hd];
        double sc = 1 / Math.sqrt(hd);
        int qw = H * hd, kw = Hkv * hd;
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++) {
                int g = h / (H / Hkv);
                for (int t = 0; t < T; t++) {
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j <= t; j++) {
                        for (int i = 0; i < hd; i++) s[j] += (double) q[(b * T + t) * qw + h * hd + i] * k[(b * T + j) * kw + g * hd + i];
                        s[j] *= sc;
                        max = Math.max(max, s[j]);
                    }
                    for (int j = 0; j <= t; j++) sum += (s[j] = Math.exp(s[j] - max));
                    for (int j = 0; j <= t; j++)
                        for (int i = 0; i < hd; i++) out[(b * T + t) * qw + h * hd + i] += s[j] / sum * v[(b * T + j) * kw + g * hd + i];
                    if (K == 0) continue;
                    double[] p = new double[K];
                    max = Double.NEGATIVE_INFINITY; sum = 0;
                    for (int j = 0; j < K; j++) {
                        for (int i = 0; i < hd; i++) p[j] += (double) q[(b * T + t) * qw + h * hd + i] * ak[j * kw + g * hd + i];
                        p[j] *= sc;
                        max = Math.max(max, p[j]);
                    }
                    for (int j = 0; j < K; j++) sum += (p[j] = Math.exp(p[j] - max));
                    for (int j = 0; j < K; j++)
                        for (int i = 0; i < hd; i++) out[(b * T + t) * qw + h * hd + i] += gamma[h] * p[j] / sum * av[j * kw + g * hd + i];
                }
            }
        return out;
    }
}
