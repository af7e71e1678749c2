package dev.llamaadapter.tensor;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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

    // The one job, reused by every call (nothing is allocated per call): its chunks are claimed through `ticket`,
    // which packs [job id: 24 bits | chunk count: 20 | next chunk: 20]. A claim is a compare-and-set of the whole
    // ticket, so it succeeds only while that job is live and a chunk is left; the job's fields are read after
    // the claim, when they are stable (the job cannot finish, nor the next one be written, while a chunk is out).
    private static final int BITS = 20, MASK = (1 << BITS) - 1;
    private static final AtomicLong TICKET = new AtomicLong();
    private static final AtomicInteger PENDING = new AtomicInteger();          // chunks of the live job not yet finished
    private static final AtomicReference<Throwable> ERROR = new AtomicReference<>();
    private static Range body;                                               // the live job (null between jobs)
    private static int total;                                                // its range [0, total)
    private static final AtomicBoolean BUSY = new AtomicBoolean();
    private static long jobs;                                                // jobs started; written only under BUSY
    private static volatile boolean released; // a native library's own threads have the cores: park, do not spin
    private static final Worker[] WORKERS = new Worker[Math.max(0, THREADS - 1)];

    static {
        for (int i = 0; i < WORKERS.length; i++) {
            WORKERS[i] = new Worker("llama-adapter-kernel-" + (i + 1));
            WORKERS[i].start();
        }
    }

    private static int id(long ticket) {
        return (int) (ticket >>> (2 * BITS));
    }

    /** Claims and runs chunks of job `id` until none is left (or another job has replaced it). */
    private static void work(int id) {
        while (true) {
            long t = TICKET.get();
            int chunks = (int) (t >>> BITS) & MASK, c = (int) t & MASK;
            if (id(t) != id || c >= chunks) return;
            if (!TICKET.compareAndSet(t, t + 1)) continue;
            int n = total;
            int lo = (int) ((long) n * c / chunks), hi = (int) ((long) n * (c + 1) / chunks);
            try {
                if (hi > lo) body.run(lo, hi);
            } catch (Throwable e) {
                ERROR.compareAndSet(null, e);
            } finally {
                PENDING.decrementAndGet();
            }
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
            int done = 0; // the last job this worker took part in (ids start at 1)
            while (true) {
                int id = id(TICKET.get());
                if (id != done) {
                    done = id;
                    work(id);
                    continue;
                }
                long since = System.nanoTime();
                while (id(TICKET.get()) == done) {
                    if (!released && System.nanoTime() - since < SPIN_NANOS) {
                        Thread.onSpinWait();
                        continue;
                    }
                    parked = true; // the caller reads this after publishing a job, so one of the two sees the other
                    if (id(TICKET.get()) == done) LockSupport.park(this);
                    parked = false;
                    since = System.nanoTime();
                }
            }
        }
    }

    /** Runs body over [0, n) split in at most `chunks` pieces, in parallel; returns when all are done. */
    public static void forRange(int n, int chunks, Range body) {
        if (n <= 0) return;
        int c = Math.max(1, Math.min(Math.min(chunks, n), MASK));
        if (c == 1 || WORKERS.length == 0 || !BUSY.compareAndSet(false, true)) {
            body.run(0, n); // one chunk, one thread, or a call inside a running job: all of it here
            return;
        }
        int id = (int) (++jobs % ((1 << (64 - 2 * BITS)) - 1)) + 1; // 1 .. 2^24 − 1: 0 is "no job yet"
        Throwable t;
        try {
            if (released) released = false;
            Parallel.body = body;
            total = n;
            ERROR.set(null);
            PENDING.set(c);
            TICKET.set((long) id << (2 * BITS) | (long) c << BITS); // publishes the job: chunk 0 of c is next
            for (Worker w : WORKERS) if (w.parked) LockSupport.unpark(w);
            work(id);
            for (int spins = 0; PENDING.get() > 0; spins++) {
                if (spins < 1 << 14) Thread.onSpinWait();
                else Thread.yield(); // a worker descheduled mid-chunk: give it the core
            }
            t = ERROR.getAndSet(null);
        } finally {
            Parallel.body = null; // no body outlives its call (its captures may be large)
            BUSY.set(false);
        }
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
