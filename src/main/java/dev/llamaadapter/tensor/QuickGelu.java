package dev.llamaadapter.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** CLIP's activation, quick_gelu(x) = x·σ(1.702·x), in place (the tower is frozen: no backward). */
public final class QuickGelu {
    private QuickGelu() {}

    private static final VectorSpecies<Float> S = Vec.S;

    /** x[0..n) = x·σ(1.702x) = x / (1 + e^(−1.702x)), with Vec.exp so every JIT tier gives the same bits. */
    public static void forward(float[] x, int n) {
        Parallel.forRange((n + 4095) / 4096, (lo, hi) -> {
            int from = lo * 4096, to = Math.min(n, hi * 4096), i = from;
            for (int ub = from + S.loopBound(to - from); i < ub; i += S.length()) {
                FloatVector v = FloatVector.fromArray(S, x, i);
                FloatVector e = Vec.exp(v.mul(-1.702f));
                v.div(e.add(1f)).intoArray(x, i);
            }
            for (; i < to; i++) x[i] = x[i] / (1f + Vec.exp(-1.702f * x[i]));
        });
    }
}
