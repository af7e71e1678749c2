package dev.llamaadapter.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * The one thread pool every kernel shares. Work is split into contiguous chunks of an index range;
 * chunk counts are kept small (a few per thread) so the overhead stays far below the work.
 * Threads: -Dllamaadapter.threads=N, default all available processors.
 */
public final class Parallel {
    private Parallel() {}

    public static final int THREADS = Integer.getInteger("llamaadapter.threads", Runtime.getRuntime().availableProcessors());
    private static final ForkJoinPool POOL = new ForkJoinPool(THREADS);

    /** Body over the half-open range [lo, hi). */
    @FunctionalInterface
    public interface Range {
        void run(int lo, int hi);
    }

    /** Runs body over [0, n) split in at most `chunks` pieces, in parallel; returns when all are done. */
    public static void forRange(int n, int chunks, Range body) {
        if (n <= 0) return;
        int c = Math.max(1, Math.min(chunks, n));
        if (c == 1 || THREADS == 1) {
            body.run(0, n);
            return;
        }
        RecursiveAction task = new Split(body, n, c, 0, c);
        if (Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread w && w.getPool() == POOL)
            task.invoke();
        else
            POOL.invoke(task);
    }

    /** Runs body over [0, n) with a chunk count suited to the pool (a few chunks per thread). */
    public static void forRange(int n, Range body) {
        forRange(n, THREADS * 4, body);
    }

    private static final class Split extends RecursiveAction {
        final Range body;
        final int n, chunks, from, to;

        Split(Range body, int n, int chunks, int from, int to) {
            this.body = body; this.n = n; this.chunks = chunks; this.from = from; this.to = to;
        }

        @Override
        protected void compute() {
            if (to - from == 1) {
                int lo = (int) ((long) n * from / chunks), hi = (int) ((long) n * to / chunks);
                if (hi > lo) body.run(lo, hi);
                return;
            }
            int mid = (from + to) >>> 1;
            invokeAll(new Split(body, n, chunks, from, mid), new Split(body, n, chunks, mid, to));
        }
    }
}
