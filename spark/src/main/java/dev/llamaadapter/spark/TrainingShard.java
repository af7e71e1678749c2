package dev.llamaadapter.spark;

import dev.llamaadapter.data.Example;
import dev.llamaadapter.data.MicroBatch;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * The tokenized training set as plain arrays, broadcast once per run: each step then ships only the
 * micro-batches' example indices, never the tokens.
 */
record TrainingShard(int[][] ids, int[][] labels) implements Serializable {

    static TrainingShard of(List<Example> train) {
        int n = train.size();
        int[][] ids = new int[n][], labels = new int[n][];
        for (int i = 0; i < n; i++) {
            ids[i] = train.get(i).ids();
            labels[i] = train.get(i).labels();
        }
        return new TrainingShard(ids, labels);
    }

    /** The padded batch of the examples at idx, exactly as the single-process trainer builds it. */
    MicroBatch batch(int[] idx) {
        List<Example> ex = new ArrayList<>(idx.length);
        for (int i : idx) {
            if (i < 0 || i >= ids.length) throw new IllegalArgumentException("example index " + i + " outside the training set of " + ids.length);
            ex.add(new Example(ids[i], labels[i], false, "example " + i));
        }
        return MicroBatch.of(ex, 0);
    }
}
