package dev.llamaadapter.tensor;

/**
 * LayerNorm over rows, y = (x − μ)·r·w + b with r = 1/sqrt(var(x) + eps) (biased variance, as torch), in
 * fp32 with the row statistics summed in double. The CLIP tower uses it frozen (forward only); the
 * multimodal adapter's visual_norm trains through the backward.
 */
public final class LayerNorm {
    private LayerNorm() {}

    /** x [M, D] → y [M, D] (y may alias x); mean, rstd [M] receive μ and r per row (either may be null when no backward follows). */
    public static void forward(float[] x, float[] w, float[] b, float eps, int M, int D, float[] y, float[] mean, float[] rstd) {
        Parallel.forRange(M, (lo, hi) -> {
            for (int m = lo; m < hi; m++) {
                int o = m * D;
                double s = 0;
                for (int i = 0; i < D; i++) s += x[o + i];
                double mu = s / D, v = 0;
                for (int i = 0; i < D; i++) {
                    double d = x[o + i] - mu;
                    v += d * d;
                }
                float r = (float) (1.0 / Math.sqrt(v / D + eps)), fm = (float) mu;
                if (mean != null) mean[m] = fm;
                if (rstd != null) rstd[m] = r;
                for (int i = 0; i < D; i++) y[o + i] = (x[o + i] - fm) * r * w[i] + b[i];
            }
        });
    }

    /**
     * Given dy [M, D]: dx [M, D] = r·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·w and x̂ = (x − μ)·r
     * (overwritten; may be null when only the parameters train), and dw += Σ_m dy·x̂, db += Σ_m dy.
     * Rows run in order on the calling thread: the parameter sums are then deterministic, and the
     * callers (the visual projection) have a handful of rows.
     */
    public static void backward(float[] x, float[] w, float[] mean, float[] rstd, float[] dy, int M, int D,
                                float[] dx, float[] dw, float[] db) {
        for (int m = 0; m < M; m++) {
            int o = m * D;
            float mu = mean[m], r = rstd[m];
            double sg = 0, sgx = 0;
            for (int i = 0; i < D; i++) {
                float xh = (x[o + i] - mu) * r, g = dy[o + i] * w[i];
                sg += g;
                sgx += (double) g * xh;
                dw[i] += dy[o + i] * xh;
                db[i] += dy[o + i];
            }
            if (dx == null) continue;
            float mg = (float) (sg / D), mgx = (float) (sgx / D);
            for (int i = 0; i < D; i++) {
                float xh = (x[o + i] - mu) * r;
                dx[o + i] = r * (dy[o + i] * w[i] - mg - xh * mgx);
            }
        }
    }
}
