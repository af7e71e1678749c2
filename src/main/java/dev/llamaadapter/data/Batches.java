package dev.llamaadapter.data;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * Epoch order, optimizer steps and micro-batches. The order of an epoch is a pure function of (seed,
 * epoch), so a resumed run replays it exactly. The examples of each step (the global batch) are chosen
 * first, from the seed, the epoch, the batch size and bucketing alone; each step is then cut into
 * micro-batches, which never changes what the step holds: the micro-batch size is a memory knob only.
 * Length bucketing: the shuffled order is cut into windows of 32 global batches, each window sorted by
 * length and cut into batches of similar lengths (little compute spent on padding, in every micro-batch
 * of the step too), and the batches of the epoch are shuffled again so that lengths do not form a
 * curriculum.
 */
public final class Batches {
    private Batches() {}

    static final int WINDOW = 32;

    /** A permutation of [0, n) for the epoch. */
    public static int[] order(int n, long seed, int epoch) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        Random r = new Random(seed * 1_000_003L + epoch);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i]; p[i] = p[j]; p[j] = t;
        }
        return p;
    }

    /** The epoch's batches of batchSize examples (the last may have fewer), as lists of example indices. */
    public static List<int[]> batches(List<Example> examples, int batchSize, long seed, int epoch, boolean bucket) {
        int[] order = order(examples.size(), seed, epoch);
        List<int[]> out = new ArrayList<>();
        int window = bucket ? WINDOW * batchSize : batchSize;
        for (int w = 0; w < order.length; w += window) {
            List<Integer> idx = new ArrayList<>();
            for (int i = w; i < Math.min(order.length, w + window); i++) idx.add(order[i]);
            if (bucket) idx.sort(Comparator.comparingInt(i -> examples.get(i).length()));
            for (int s = 0; s < idx.size(); s += batchSize) {
                int e = Math.min(idx.size(), s + batchSize);
                out.add(idx.subList(s, e).stream().mapToInt(Integer::intValue).toArray());
            }
        }
        if (bucket) java.util.Collections.shuffle(out, new Random(seed * 7_368_787L + epoch));
        return out;
    }

    /** A step's examples cut, in order, into micro-batches of microBatchSize (the last may have fewer). */
    public static List<int[]> split(int[] step, int microBatchSize) {
        List<int[]> out = new ArrayList<>();
        for (int s = 0; s < step.length; s += microBatchSize)
            out.add(java.util.Arrays.copyOfRange(step, s, Math.min(step.length, s + microBatchSize)));
        return out;
    }

    /** Padding tokens as a share of all positions, for the start-up summary. */
    public static double paddingShare(List<Example> examples, List<int[]> batches) {
        long real = 0, total = 0;
        for (int[] b : batches) {
            int T = 0;
            for (int i : b) {
                T = Math.max(T, examples.get(i).length());
                real += examples.get(i).length();
            }
            total += (long) T * b.length;
        }
        return total == 0 ? 0 : 1.0 - (double) real / total;
    }
}
