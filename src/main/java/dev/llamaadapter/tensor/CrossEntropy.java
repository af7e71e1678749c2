package dev.llamaadapter.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Mean cross-entropy over scored positions (label −100 = not scored), fused with its backward: per row,
 * a max pass, one pass that writes exp(x − max) and sums it, and a scaling pass give the row's loss and
 * the gradient (softmax − onehot)/count; a row fits in L1/L2, so only the first pass reads memory.
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
        int count = scored(labels, M, V);
        final float inv = count == 0 ? 0f : 1f / count;
        double[] rowLoss = new double[M];
        Parallel.forRange(M, (lo, hi) -> {
            for (int m = lo; m < hi; m++) {
                int o = m * V, y = labels[m];
                if (y == IGNORE) {
                    java.util.Arrays.fill(dlogits, o, o + V, 0f);
                    continue;
                }
                // one exp per logit: e = exp(x − max) written once (the row is L1/L2-resident), then scaled by inv/Σe
                float max = max(logits, o, V), target = logits[o + y]; // target read first: dlogits may be logits
                double sum = expInto(logits, o, V, max, dlogits);
                rowLoss[m] = max + Math.log(sum) - target;
                scale(dlogits, o, V, (float) (inv / sum));
                dlogits[o + y] -= inv;
            }
        });
        double total = 0;
        for (int m = 0; m < M; m++) total += rowLoss[m];
        return (float) (total * inv);
    }

    /** Scored rows of labels [M] (label −100 = not scored); a label outside [0, V) is an error naming its row. */
    public static int scored(int[] labels, int M, int V) {
        int count = 0;
        for (int m = 0; m < M; m++) {
            int y = labels[m];
            if (y == IGNORE) continue;
            if (y < 0 || y >= V) throw new IllegalArgumentException("label " + y + " at row " + m + " outside the vocabulary [0, " + V + ")");
            count++;
        }
        return count;
    }

    /**
     * A chunk of scored rows: logits [R, V] of rows rows[0..R) (their labels read as labels[rows[r]]) → returns
     * the sum of their losses and, when dlogits is not null (it may be the logits array), writes
     * (softmax − onehot)·inv per row. The output head of a large vocabulary runs on such chunks, so no
     * [M, V] buffer exists (see Transformer).
     */
    public static double chunk(float[] logits, int[] labels, int[] rows, int R, int V, float inv, float[] dlogits) {
        double[] rowLoss = new double[R];
        Parallel.forRange(R, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int o = r * V, y = labels[rows[r]];
                float max = max(logits, o, V), target = logits[o + y]; // target first: dlogits may be logits
                float[] out = dlogits != null ? dlogits : null;
                double sum = out != null ? expInto(logits, o, V, max, out) : expSum(logits, o, V, max);
                rowLoss[r] = max + Math.log(sum) - target;
                if (out == null) continue;
                scale(out, o, V, (float) (inv / sum));
                out[o + y] -= inv;
            }
        });
        double total = 0;
        for (double l : rowLoss) total += l;
        return total;
    }

    /** Σ exp(x[o+i] − shift) without writing anything (a loss without its gradient). */
    private static double expSum(float[] x, int o, int n, float shift) {
        double s = 0;
        for (int i = 0; i < n; i++) s += Vec.exp(x[o + i] - shift);
        return s;
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

    /** out[o+i] = exp(x[o+i] − shift) (out may be x); returns their sum, accumulated per lane in fp32. */
    static double expInto(float[] x, int o, int n, float shift, float[] out) {
        int i = 0;
        double s = 0;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (int ub = S.loopBound(n); i < ub; i += S.length()) {
                FloatVector e = Vec.exp(FloatVector.fromArray(S, x, o + i).sub(shift));
                e.intoArray(out, o + i);
                acc = acc.add(e);
            }
            s = Vec.sum(acc);
        }
        for (; i < n; i++) s += out[o + i] = Vec.exp(x[o + i] - shift);
        return s;
    }

    /** x[o+i] *= c. */
    static void scale(float[] x, int o, int n, float c) {
        int i = 0;
        for (int ub = S.loopBound(n); i < ub; i += S.length()) FloatVector.fromArray(S, x, o + i).mul(c).intoArray(x, o + i);
        for (; i < n; i++) x[o + i] *= c;
    }

    /** out[o+i] = exp(x[o+i] − shift)·scale (out may be x). */
    static void scaledExp(float[] x, int o, int n, float shift, float scale, float[] out) {
        int i = 0;
        for (int ub = S.loopBound(n); i < ub; i += S.length())
            Vec.exp(FloatVector.fromArray(S, x, o + i).sub(shift)).mul(scale).intoArray(out, o + i);
        for (; i < n; i++) out[o + i] = Vec.exp(x[o + i] - shift) * scale;
    }
}
