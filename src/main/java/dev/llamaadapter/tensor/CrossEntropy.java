package dev.llamaadapter.tensor;

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
                float max = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < V; i++) max = Math.max(max, logits[o + i]);
                double sum = 0;
                for (int i = 0; i < V; i++) sum += Math.exp(logits[o + i] - max);
                double lse = max + Math.log(sum);
                rowLoss[m] = lse - logits[o + y];
                for (int i = 0; i < V; i++) dlogits[o + i] = (float) (Math.exp(logits[o + i] - lse) * inv);
                dlogits[o + y] -= inv;
            }
        });
        double total = 0;
        for (int m = 0; m < M; m++) total += rowLoss[m];
        return (float) (total * inv);
    }
}
