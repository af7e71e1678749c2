package dev.llamaadapter.spark;

import dev.llamaadapter.data.Example;
import dev.llamaadapter.train.LossNorm;
import dev.llamaadapter.train.Objective;
import dev.llamaadapter.train.Param;
import dev.llamaadapter.train.StepGradient;
import dev.llamaadapter.train.TrainConfig;
import org.apache.spark.SparkException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * One optimizer step's gradient computed on Spark (data parallelism): the adapter's values are broadcast,
 * the step's micro-batches are split into contiguous partitions, each task runs forward and backward over
 * its share on a replica over the executor's memory-mapped base and returns (gradient sum, loss sum,
 * weight, tokens, micro-batch count), the sums weighted by the run's {@link LossNorm} (by default per
 * scored token, the weight then being the scored-token count); treeAggregate sums the partials to the
 * driver, which divides by the total weight. That is the single-process trainer's accumulation, so
 * schedule, AdamW, clipping, checkpoints and metrics stay the {@link dev.llamaadapter.train.Trainer}'s.
 * Summing in another order changes only float rounding (see the README for the tolerance).
 */
public final class SparkStepGradient implements StepGradient, AutoCloseable {
    private static final List<String> ADAPTER_PARAMS = List.of("adapter_query.weight", "gates");

    private final JavaSparkContext sc;
    private final WorkerSpec spec;
    private final Broadcast<TrainingShard> data;
    private final TaskHook hook;
    private final LossNorm norm;
    private final int slots; // partitions a step is split into at most: the cluster's task slots
    private long step;

    /**
     * @param model       the base model's path as every executor reads it
     * @param fingerprint the driver's {@code BaseModel.fingerprint()}: an executor holding another model refuses it
     * @param maxT        sequence capacity of the buffers (the longest example)
     */
    public SparkStepGradient(JavaSparkContext sc, Path model, String fingerprint, TrainConfig cfg, List<Example> train, int maxT, TaskHook hook) {
        this.sc = sc;
        this.spec = new WorkerSpec(model.toAbsolutePath().toString(), fingerprint, cfg.adapterLen(), cfg.adapterLayers(),
                cfg.gateActivation(), cfg.gates(), cfg.microBatchSize(), maxT);
        this.data = sc.broadcast(TrainingShard.of(train));
        this.hook = hook;
        this.norm = cfg.lossNorm();
        this.slots = Math.max(1, sc.defaultParallelism());
    }

    /** Task slots of the cluster: a step's micro-batches are split into at most this many partitions. */
    public int slots() {
        return slots;
    }

    @Override
    public Result compute(Objective objective, List<int[]> microBatches) {
        List<Param> params = objective.params();
        List<String> names = params.stream().map(Param::name).toList();
        if (!names.equals(ADAPTER_PARAMS))
            throw new IllegalArgumentException("training on Spark supports the text adapter only (" + String.join(", ", ADAPTER_PARAMS)
                    + "): this run trains " + names);
        step++;
        float[][] values = new float[params.size()][]; // [params][numel]: a snapshot, as AdamW will change the live arrays
        for (int i = 0; i < values.length; i++) values[i] = params.get(i).value().clone();
        Broadcast<float[][]> adapter = sc.broadcast(values);
        PartialGradient sum;
        try {
            sc.setJobDescription("llama-adapter step " + step + ": gradient of " + microBatches.size() + " micro-batches");
            sum = sc.parallelize(new ArrayList<>(microBatches), Math.min(microBatches.size(), slots))
                    .mapPartitions(task(spec, data, adapter, hook, step, norm))
                    .treeAggregate(new PartialGradient(), PartialGradient::add, PartialGradient::add, 2);
        } catch (Exception e) { // Spark's SparkException is checked in Java's eyes, though Scala throws it undeclared
            throw failure(e);
        } finally {
            adapter.destroy();
        }
        if (sum.count != microBatches.size())
            throw new IllegalStateException("step " + step + ": Spark returned gradients of " + sum.count + " micro-batches, expected " + microBatches.size());
        for (int i = 0; i < params.size(); i++) System.arraycopy(sum.grads[i], 0, params.get(i).grad(), 0, sum.grads[i].length);
        if (sum.weight > 0) StepGradient.scale(params, 1.0 / sum.weight); // no scored token: the gradient is zero
        return new Result(sum.weight == 0 ? 0 : sum.lossSum / sum.weight, sum.tokens);
    }

    /** The executor side of a step; static so that the closure captures only serializable values, never this. */
    private static FlatMapFunction<Iterator<int[]>, PartialGradient> task(WorkerSpec spec, Broadcast<TrainingShard> data,
                                                                          Broadcast<float[][]> adapter, TaskHook hook, long step, LossNorm norm) {
        return micro -> {
            TaskContext tc = TaskContext.get();
            hook.beforeTask(step, tc.partitionId(), tc.attemptNumber());
            Replica r = ExecutorModels.borrow(spec);
            try {
                return List.of(r.gradient(adapter.value(), data.value(), micro, norm)).iterator();
            } finally {
                ExecutorModels.giveBack(spec, r);
            }
        };
    }

    /** A failed job as one clear message: an {@link ExecutorFailure}'s (node and path) when there is one. */
    private RuntimeException failure(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause())
            if (t instanceof ExecutorFailure f) return new IllegalStateException("training step " + step + " on Spark failed: " + f.getMessage(), e);
        if (e instanceof SparkException) {
            String m = String.valueOf(e.getMessage());
            int nl = m.indexOf('\n');
            return new IllegalStateException("training step " + step + " on Spark failed: " + (nl < 0 ? m : m.substring(0, nl)), e);
        }
        return e instanceof RuntimeException r ? r : new IllegalStateException(e);
    }

    @Override
    public void close() {
        data.destroy();
    }
}
