package dev.llamaadapter.serve;

import dev.llamaadapter.generate.Generator;
import dev.llamaadapter.generate.SamplingParams;
import dev.llamaadapter.model.PreparedPrompts;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The one thread that drives {@link Generator#step()}: it steps while any sequence waits or runs and
 * sleeps on a condition otherwise; submit() wakes it. Sequences submitted while a step runs join the
 * batch at the next step, so requests that arrive together are decoded together.
 */
final class Scheduler {
    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());

    private final Generator gen;
    private final int slots;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private final Thread thread;
    private boolean stopping, paused;
    private volatile long throttleMillis; // test hook: a pause after every step
    /** Sequences submitted and not yet finished; those a failed step ended, with its error. */
    private final Set<Generator.Sequence> live = ConcurrentHashMap.newKeySet();
    private final Map<Generator.Sequence, Throwable> failed = new ConcurrentHashMap<>();
    final AtomicLong steps = new AtomicLong(), maxBatch = new AtomicLong();

    Scheduler(Generator gen, int slots) {
        this.gen = gen;
        this.slots = slots;
        this.thread = Thread.ofPlatform().name("llama-adapter-scheduler").daemon(true).unstarted(this::loop);
    }

    void start() {
        thread.start();
    }

    /** Queues a sequence and wakes the loop; IllegalArgumentException when the generator refuses it. */
    Generator.Sequence submit(int[] prompt, PreparedPrompts adapter, SamplingParams params, Generator.Sink sink) {
        lock.lock();
        try {
            if (stopping) throw new ApiException(503, "server_error", "the server is shutting down", null, "server_shutting_down");
            Generator.Sequence s = gen.submit(prompt, adapter, params, sink);
            if (!s.result.isDone()) {
                live.add(s);
                s.result.whenComplete((r, e) -> live.remove(s));
            }
            wake.signalAll();
            return s;
        } finally {
            lock.unlock();
        }
    }

    /** The error of a failed step that ended this sequence, or null. Clears it. */
    Throwable failure(Generator.Sequence s) {
        return failed.remove(s);
    }

    /** Holds the loop between steps (tests: lets requests pile up, then decodes them in one batch). */
    void pause(boolean p) {
        lock.lock();
        try {
            paused = p;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Test hook: sleeps this long after every step, so that requests stay running for a while. */
    void throttle(long millis) {
        throttleMillis = millis;
    }

    private void loop() {
        while (true) {
            lock.lock();
            try {
                while (!stopping && (paused || gen.load() == 0)) wake.awaitUninterruptibly();
                if (stopping && gen.load() == 0) return;
            } finally {
                lock.unlock();
            }
            try {
                long batch = Math.min(gen.load(), slots);
                maxBatch.accumulateAndGet(batch, Math::max);
                gen.step();
                steps.incrementAndGet();
                if (throttleMillis > 0) Thread.sleep(throttleMillis);
            } catch (Throwable t) {
                // a failed forward leaves the batch unusable: end every running sequence with this error
                LOG.log(System.Logger.Level.ERROR, "generation step failed; ending " + live.size() + " sequence(s)", t);
                for (Generator.Sequence s : live) {
                    failed.put(s, t);
                    s.cancel();
                }
            }
        }
    }

    /** Cancels what still runs, lets the loop drop it, and ends the thread. */
    void stop() {
        lock.lock();
        try {
            stopping = true;
            for (Generator.Sequence s : live) s.cancel();
            wake.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
