package dev.llamaadapter.spark;

import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.train.GradientAccumulator;
import dev.llamaadapter.train.LossNorm;
import dev.llamaadapter.train.Objective;
import dev.llamaadapter.train.Param;

import java.util.Iterator;
import java.util.List;

/**
 * One task's copy of the training objective on an executor: its own adapter values, gradient buffers and
 * activations over the executor's shared frozen base. Replicas are pooled per executor JVM, so a task
 * allocates no engine buffers after the first steps; one task uses a replica at a time.
 */
final class Replica {
    private final Objective objective;
    private final List<Param> params;

    Replica(WorkerSpec s, Transformer model) {
        LlamaConfig c = model.config;
        AdaptionPrompts p = new AdaptionPrompts(s.adapterLen(), s.adapterLayers(), c.hiddenSize(), c.numAttentionHeads(), s.gate(), s.gates(), null);
        model.checkFits(p, "the adapter trained on " + s.model());
        objective = Objective.adapter(model, p, s.maxB(), s.maxT());
        params = objective.params();
    }

    /**
     * Sets the adapter to the step's values, runs forward and backward over each micro-batch (indices into
     * the training set) and returns the partial: the gradients and losses summed with the norm's weights
     * (scored tokens, or 1 per micro-batch) and the weights' sum, which the driver divides by once all
     * partials are in: the single-process trainer's {@link GradientAccumulator}, split across tasks.
     */
    PartialGradient gradient(float[][] values, TrainingShard data, Iterator<int[]> micro, LossNorm norm) {
        if (values.length != params.size()) throw new IllegalStateException("the driver sent " + values.length + " params, the replica has " + params.size());
        for (int i = 0; i < values.length; i++) {
            Param p = params.get(i);
            if (values[i].length != p.value().length)
                throw new IllegalStateException(p.name() + ": the driver sent " + values[i].length + " values, the replica holds " + p.value().length);
            System.arraycopy(values[i], 0, p.value(), 0, values[i].length);
        }
        objective.paramsChanged(); // per-layer gates: the driver's values into every head before the forward
        GradientAccumulator acc = new GradientAccumulator(objective, norm);
        while (micro.hasNext()) {
            int[] idx = micro.next();
            acc.add(data.batch(idx), idx);
        }
        acc.finish(1); // the weighted sum: only the driver knows the step's total weight
        float[][] grads = new float[params.size()][]; // [params][numel]: leaves with the task result; the replica's own buffers stay
        for (int i = 0; i < grads.length; i++) grads[i] = params.get(i).grad().clone();
        return new PartialGradient(grads, acc.lossSum(), acc.weight(), acc.tokens(), acc.count());
    }
}
