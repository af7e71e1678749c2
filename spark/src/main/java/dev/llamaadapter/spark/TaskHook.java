package dev.llamaadapter.spark;

import java.io.Serializable;

/**
 * Runs at the start of every gradient task on the executor: lets tests inject a task failure (a task
 * that throws once, which Spark retries). Production runs use {@link #NONE}.
 */
@FunctionalInterface
public interface TaskHook extends Serializable {
    TaskHook NONE = (step, partition, attempt) -> {};

    /**
     * @param step      the optimizer step (1-based) whose gradient the task computes
     * @param partition the task's partition
     * @param attempt   0 for the first try, then 1, 2, ... for Spark's retries
     */
    void beforeTask(long step, int partition, int attempt) throws Exception;
}
