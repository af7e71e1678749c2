package dev.llamaadapter.train;

import dev.llamaadapter.data.Example;
import dev.llamaadapter.data.MicroBatch;

import java.util.ArrayList;
import java.util.List;

/**
 * How one optimizer step's gradient is computed: the only part of the training loop a distributed
 * trainer replaces. Given the step's micro-batches (index arrays into the training examples), it leaves
 * in the params' grads the MEAN over micro-batches of each one's gradient of its mean loss (the official
 * recipe's accumulation: each micro-batch loss divided by the accumulation count), and returns the mean
 * micro-batch loss and the tokens processed.
 */
public interface StepGradient {
    record Result(double loss, long tokens) {}

    Result compute(Objective objective, List<int[]> microBatches);

    /** On this machine, micro-batch after micro-batch. */
    static StepGradient local(List<Example> train) {
        return (objective, micro) -> {
            for (Param p : objective.params()) java.util.Arrays.fill(p.grad(), 0f);
            double lossSum = 0;
            long tokens = 0;
            for (int[] idx : micro) {
                MicroBatch b = batch(train, idx);
                lossSum += objective.accumulate(b, idx);
                tokens += b.tokens();
            }
            scale(objective.params(), 1.0 / micro.size());
            return new Result(lossSum / micro.size(), tokens);
        };
    }

    /** The padded batch of the examples at idx. */
    static MicroBatch batch(List<Example> train, int[] idx) {
        List<Example> ex = new ArrayList<>(idx.length);
        for (int i : idx) ex.add(train.get(i));
        return MicroBatch.of(ex, 0);
    }

    /** grads *= f. */
    static void scale(List<Param> params, double f) {
        if (f == 1.0) return;
        for (Param p : params) {
            float[] g = p.grad();
            for (int i = 0; i < g.length; i++) g[i] = (float) (g[i] * f);
        }
    }
}
