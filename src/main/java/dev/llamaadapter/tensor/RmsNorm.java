package dev.llamaadapter.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * RMSNorm over rows: y = x · r · w with r = 1/sqrt(mean(x²) + eps), in fp32 (spec §1).
 * The forward keeps r per row so the backward needs only x, w and r.
 */
public final class RmsNorm {
    private RmsNorm() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** x [M, D] → y [M, D]; rstd [M] receives r per row (may be null when no backward follows). */
    public static void forward(float[] x, float[] w, float eps, int M, int D, float[] y, float[] rstd) {
        Parallel.forRange(M, (lo, hi) -> {
            for (int m = lo; m < hi; m++) {
                int o = m * D;
                float r = (float) (1.0 / Math.sqrt(Vec.sumSq(x, o, D) / D + eps));
                if (rstd != null) rstd[m] = r;
                int i = 0;
                for (int ub = S.loopBound(D); i < ub; i += S.length())
                    FloatVector.fromArray(S, x, o + i).mul(r).mul(FloatVector.fromArray(S, w, i)).intoArray(y, o + i);
                for (; i < D; i++) y[o + i] = (x[o + i] * r) * w[i];
            }
        });
    }

    /**
     * dx += ∂L/∂x given dy [M, D]: dx_j = r·w_j·dy_j − x_j · r³/D · Σ_i w_i·dy_i·x_i.
     * Accumulates because the residual stream already carries a gradient into x.
     */
    public static void backwardAccumulate(float[] x, float[] w, float[] rstd, float[] dy, int M, int D, float[] dx) {
        Parallel.forRange(M, (lo, hi) -> {
            for (int m = lo; m < hi; m++) {
                int o = m * D;
                float r = rstd[m];
                // Σ w·dy·x in fp32 lanes (a scalar double chain was latency-bound: 4 cycles per element)
                FloatVector acc = FloatVector.zero(S);
                int i = 0;
                for (int ub = S.loopBound(D); i < ub; i += S.length())
                    acc = FloatVector.fromArray(S, w, i).mul(FloatVector.fromArray(S, dy, o + i)).fma(FloatVector.fromArray(S, x, o + i), acc);
                double s = Vec.sum(acc);
                for (; i < D; i++) s += (double) w[i] * dy[o + i] * x[o + i];
                float c = (float) (s * r * r * r / D);
                i = 0;
                for (int ub = S.loopBound(D); i < ub; i += S.length()) {
                    FloatVector g = FloatVector.fromArray(S, w, i).mul(r).mul(FloatVector.fromArray(S, dy, o + i));
                    FloatVector.fromArray(S, dx, o + i).add(g.sub(FloatVector.fromArray(S, x, o + i).mul(c))).intoArray(dx, o + i);
                }
                for (; i < D; i++) dx[o + i] += r * w[i] * dy[o + i] - x[o + i] * c;
            }
        });
    }

    /**
     * dw[i] += Σ_m dy[m, i] · x[m, i] · r_m: the gradient of the norm's weight (full fine-tuning). Split
     * over columns, each summed over rows in order, so the result does not depend on the thread count.
     */
    public static void weightGradAccumulate(float[] x, float[] rstd, float[] dy, int M, int D, float[] dw) {
        Parallel.forRange(D, Parallel.THREADS, (lo, hi) -> {
            for (int m = 0; m < M; m++) {
                int o = m * D;
                float r = rstd[m];
                for (int i = lo; i < hi; i++) dw[i] += dy[o + i] * x[o + i] * r;
            }
        });
    }
}
