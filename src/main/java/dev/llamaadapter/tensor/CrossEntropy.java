package dev.llamaadapter.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Mean cross-entropy over scored positions (label −100 = not scored), fused with its backward: one
 * pass per row computes log-sum-exp, the row's loss and the gradient (softmax − onehot)/count.
 */
public final class CrossEntropy {
    private CrossEntropy() {}

    public static final int IGNORE = -100;

    /**
     * logits [M, V], labels [M] → returns the mean loss over scored rows (0 when none are scored) and
     * writes dlogits [M, V] (may be the logits array itself, to save memory in training). Unscored rows
     * get a zero gradient.
     */
    public static float forwardBackward(float[] logits, int[] labels, int M, int V, float[] dlogits) {
        int count = 0;
        for (int m = 0; m < M; m++) {
            int y = labels[m];
            if (y == IGNORE) continue;
            if (y < 0 || y >= V) throw new IllegalArgumentException("label " + y + " at row " + m + " outside the vocabulary [0, " + V + ")");
            count++;
        }
        final float inv = count == 0 ? 0f : 1f / count;
        double[] rowLoss = new double[M];
        Parallel.forRange(M, (lo, hi) -> {
            for (int m = lo; m < hi; m++) {
                int o = m * V, y = labels[m];
                if (y == IGNORE) {
                    java.util.Arrays.fill(dlogits, o, o + V, 0f);
                    continue;
                }
                float max = max(logits, o, V);
                double lse = max + Math.log(sumExp(logits, o, V, max));
                rowLoss[m] = lse - logits[o + y];
                scaledExp(logits, o, V, (float) lse, inv, dlogits);
                dlogits[o + y] -= inv;
            }
        });
        double total = 0;
        for (int m = 0; m < M; m++) total += rowLoss[m];
        return (float) (total * inv);
    }

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    static float max(float[] x, int o, int n) {
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int ub = S.loopBound(n); i < ub; i += S.length()) acc = acc.max(FloatVector.fromArray(S, x, o + i));
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, x[o + i]);
        return m;
    }

    /** Σ exp(x − shift), accumulated per lane in fp32. */
    static double sumExp(float[] x, int o, int n, float shift) {
        int i = 0;
        double s = 0;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (int ub = S.loopBound(n); i < ub; i += S.length())
                acc = acc.add(Vec.exp(FloatVector.fromArray(S, x, o + i).sub(shift)));
            s = Vec.sum(acc);
        }
        for (; i < n; i++) s += Vec.exp(x[o + i] - shift);
        return s;
    }

    /** out[o+i] = exp(x[o+i] − shift)·scale (out may be x). */
    static void scaledExp(float[] x, int o, int n, float shift, float scale, float[] out) {
        int i = 0;
        for (int ub = S.loopBound(n); i < ub; i += S.length())
            Vec.exp(FloatVector.fromArray(S, x, o + i).sub(shift)).mul(scale).intoArray(out, o + i);
        for (; i < n; i++) out[o + i] = Vec.exp(x[o + i] - shift) * scale;
    }
}
