package dev.llamaadapter.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Picks the next token of one sequence from its logits; its random stream is seeded per sequence. */
public final class Sampler {
    private final SamplingParams p;
    private final SplittableRandom rng;
    private float[] work;    // [V] adjusted logits
    private Integer[] order; // [V] candidate ids by logit

    public Sampler(SamplingParams p) {
        this.p = p;
        this.rng = new SplittableRandom(p.seed());
    }

    /** logits[off .. off+V) → a token id; history = the ids so far (prompt and generated), for the repetition penalty. */
    public int next(float[] logits, int off, int V, int[] history, int historyLen) {
        if (work == null || work.length != V) work = new float[V];
        System.arraycopy(logits, off, work, 0, V);
        if (p.repetitionPenalty() != 1.0) {
            float pen = (float) p.repetitionPenalty();
            boolean[] seen = new boolean[V];
            for (int i = 0; i < historyLen; i++) {
                int id = history[i];
                if (id < 0 || id >= V || seen[id]) continue;
                seen[id] = true;
                work[id] = work[id] > 0 ? work[id] / pen : work[id] * pen;
            }
        }
        if (p.isGreedy()) return argmax(work);
        // candidates by logit, then top-k, then temperature softmax, then top-p (nucleus)
        int k = p.topK() > 0 ? Math.min(p.topK(), V) : V;
        int[] ids = topIds(work, k);
        double t = p.temperature(), max = work[ids[0]];
        double[] prob = new double[ids.length];
        double sum = 0;
        for (int i = 0; i < ids.length; i++) sum += prob[i] = Math.exp((work[ids[i]] - max) / t);
        int n = ids.length;
        if (p.topP() < 1) {
            double cum = 0;
            for (int i = 0; i < ids.length; i++) {
                cum += prob[i] / sum;
                if (cum >= p.topP()) {
                    n = i + 1;
                    break;
                }
            }
            sum = 0;
            for (int i = 0; i < n; i++) sum += prob[i];
        }
        double u = rng.nextDouble() * sum;
        for (int i = 0; i < n; i++) {
            u -= prob[i];
            if (u <= 0) return ids[i];
        }
        return ids[n - 1];
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /** The k ids of largest value, largest first (ties: lower id first). */
    private int[] topIds(float[] x, int k) {
        int V = x.length;
        if (order == null || order.length != V) order = new Integer[V];
        for (int i = 0; i < V; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> x[a] != x[b] ? Float.compare(x[b], x[a]) : Integer.compare(a, b));
        int[] out = new int[k];
        for (int i = 0; i < k; i++) out[i] = order[i];
        return out;
    }
}
