package dev.llamaadapter.train;

import dev.llamaadapter.data.Example;
import dev.llamaadapter.data.MicroBatch;

import java.util.ArrayList;
import java.util.List;

/**
 * How one optimizer step's gradient is computed: the only part of the training loop a distributed
 * trainer replaces. Given the step's micro-batches (index arrays into the training examples), it leaves
 * in the params' grads the gradient of the step's loss under the run's {@link LossNorm} (by default the
 * mean over every scored token of the step; see {@link GradientAccumulator}), and returns that loss and
 * the tokens processed.
 */
public interface StepGradient {
    record Result(double loss, long tokens) {}

    Result compute(Objective objective, List<int[]> microBatches);

    /** On this machine, micro-batch after micro-batch. */
    static StepGradient local(List<Example> train, LossNorm norm) {
        return (objective, micro) -> {
            GradientAccumulator acc = new GradientAccumulator(objective, norm);
            for (int[] idx : micro) acc.add(batch(train, idx), idx);
            acc.finish(acc.weight());
            return new Result(acc.meanLoss(), acc.tokens());
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
