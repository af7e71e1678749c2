package dev.llamaadapter.tensor;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The one set of threads every kernel shares: THREADS − 1 workers plus the calling thread, which takes
 * chunks too. Work is split into contiguous chunks of an index range, handed out one at a time from a
 * counter (a core slowed by another process simply takes fewer chunks); chunk counts stay small (a few per
 * thread) so the overhead stays far below the work. Threads: -Dllamaadapter.threads=N, default all
 * available processors.
 *
 * <p>Why not a ForkJoinPool: decoding one token runs ~200 products of a few hundred microseconds each, and
 * waking a parked pool thread per product cost more than the second core gained (measured on tinyllama bf16:
 * 2 threads were slower than 1). Here a worker spins for a short while after each job, so the next job
 * starts within a microsecond, and parks only when the kernels go quiet.
 *
 * <p>One job at a time: a call made while another is running (from inside a body, or from a second thread)
 * runs its whole range on the calling thread. Results never depend on which thread ran which chunk.
 */
public final class Parallel {
    private Parallel() {}

    public static final int THREADS = Integer.getInteger("llamaadapter.threads", Runtime.getRuntime().availableProcessors());
    /** How long an idle worker spins before parking: longer than the gaps between kernels, far shorter than a pause. */
    private static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

    /** Body over the half-open range [lo, hi). */
    @FunctionalInterface
    public interface Range {
        void run(int lo, int hi);
    }

    /** One call's work: chunks are claimed from next; pending counts those not yet finished. */
    private static final class Job {
        final long id;
        final Range body;
        final int n, chunks;
        final AtomicInteger next = new AtomicInteger(), pending;
        final AtomicReference<Throwable> error = new AtomicReference<>();

        Job(long id, Range body, int n, int chunks) {
            this.id = id; this.body = body; this.n = n; this.chunks = chunks;
            pending = new AtomicInteger(chunks);
        }

        /** Claims and runs chunks until none is left. */
        void work() {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                int lo = (int) ((long) n * c / chunks), hi = (int) ((long) n * (c + 1) / chunks);
                try {
                    if (hi > lo) body.run(lo, hi);
                } catch (Throwable t) {
                    error.compareAndSet(null, t);
                } finally {
                    pending.decrementAndGet();
                }
            }
        }
    }

    private static final AtomicBoolean BUSY = new AtomicBoolean();
    private static volatile Job current; // the running job, null between jobs (so no body outlives its call)
    private static long jobs;            // jobs started; written only by the thread holding BUSY
    private static volatile boolean released; // a native library's own threads have the cores: park, do not spin
    private static final Worker[] WORKERS = new Worker[Math.max(0, THREADS - 1)];

    static {
        for (int i = 0; i < WORKERS.length; i++) {
            WORKERS[i] = new Worker("llama-adapter-kernel-" + (i + 1));
            WORKERS[i].start();
        }
    }

    private static final class Worker extends Thread {
        volatile boolean parked;

        Worker(String name) {
            super(name);
            setDaemon(true);
        }

        @Override
        public void run() {
            long done = 0; // the last job this worker took part in (ids start at 1)
            while (true) {
                Job j = current;
                if (j != null && j.id != done) {
                    done = j.id;
                    j.work();
                    continue;
                }
                long since = System.nanoTime();
                while ((j = current) == null || j.id == done) {
                    if (!released && System.nanoTime() - since < SPIN_NANOS) {
                        Thread.onSpinWait();
                        continue;
                    }
                    parked = true; // the caller reads this after publishing a job, so one of the two sees the other
                    if ((j = current) == null || j.id == done) LockSupport.park(this);
                    parked = false;
                    since = System.nanoTime();
                }
            }
        }
    }

    /** Runs body over [0, n) split in at most `chunks` pieces, in parallel; returns when all are done. */
    public static void forRange(int n, int chunks, Range body) {
        if (n <= 0) return;
        int c = Math.max(1, Math.min(chunks, n));
        if (c == 1 || WORKERS.length == 0 || !BUSY.compareAndSet(false, true)) {
            body.run(0, n); // one chunk, one thread, or a call inside a running job: all of it here
            return;
        }
        Job job = new Job(++jobs, body, n, c);
        try {
            if (released) released = false;
            current = job;
            for (Worker w : WORKERS) if (w.parked) LockSupport.unpark(w);
            job.work();
            for (int spins = 0; job.pending.get() > 0; spins++) {
                if (spins < 1 << 14) Thread.onSpinWait();
                else Thread.yield(); // a worker descheduled mid-chunk: give it the core
            }
        } finally {
            current = null;
            BUSY.set(false);
        }
        Throwable t = job.error.get();
        if (t instanceof RuntimeException e) throw e;
        if (t instanceof Error e) throw e;
        if (t != null) throw new IllegalStateException(t);
    }

    /**
     * Called before work on threads of another pool (a native GEMM's OpenMP threads): idle workers park now
     * instead of spinning on the cores that work needs. The next {@link #forRange} wakes them.
     */
    public static void releaseCores() {
        if (!released) released = true;
    }

    /** Runs body over [0, n) with a chunk count suited to the pool (a few chunks per thread). */
    public static void forRange(int n, Range body) {
        forRange(n, THREADS * 4, body);
    }
}
