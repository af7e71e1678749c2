package dev.llamaadapter.serve;

import dev.llamaadapter.generate.Generator;
import dev.llamaadapter.generate.SamplingParams;
import dev.llamaadapter.model.PreparedPrompts;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The one thread that drives {@link Generator#step()}: it steps while any sequence waits or runs and
 * sleeps on a condition otherwise; submit() wakes it. Sequences submitted while a step runs join the
 * batch at the next step, so requests that arrive together are decoded together.
 */
final class Scheduler {
    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());

    private final Supplier<Generator> factory;
    private Generator gen; // replaced by a fresh one (a clean KV cache) when a step fails
    private final int slots;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private final Thread thread;
    private boolean stopping, paused;
    private volatile long throttleMillis; // test hook: a pause after every step
    private volatile boolean failNext;     // test hook: the next step fails
    /** Sequences submitted and not yet finished. */
    private final Set<Generator.Sequence> live = ConcurrentHashMap.newKeySet();
    final AtomicLong steps = new AtomicLong(), maxBatch = new AtomicLong(), failures = new AtomicLong();

    Scheduler(Supplier<Generator> factory, int slots) {
        this.factory = factory;
        this.gen = factory.get();
        this.slots = slots;
        this.thread = Thread.ofPlatform().name("llama-adapter-scheduler").daemon(true).unstarted(this::loop);
    }

    void start() {
        thread.start();
    }

    /**
     * Queues a sequence and wakes the loop; IllegalArgumentException when the generator refuses it. Its
     * result completes exceptionally when a step fails.
     */
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

    /** Sequences waiting for a slot plus those decoding. */
    int load() {
        lock.lock();
        try {
            return gen.load();
        } finally {
            lock.unlock();
        }
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

    /** Test hook: the next step fails after it ran, as if the forward had thrown. */
    void failNextStep() {
        failNext = true;
    }

    private void loop() {
        while (true) {
            Generator g;
            lock.lock();
            try {
                while (!stopping && (paused || gen.load() == 0)) wake.awaitUninterruptibly();
                if (stopping && gen.load() == 0) return;
                g = gen;
            } finally {
                lock.unlock();
            }
            try {
                long batch = Math.min(g.load(), slots);
                maxBatch.accumulateAndGet(batch, Math::max);
                if (failNext) {
                    failNext = false;
                    g.step(); // admits and starts the waiting sequences, then fails as a broken forward would
                    throw new IllegalStateException("injected failure (test)");
                }
                g.step();
                steps.incrementAndGet();
                if (throttleMillis > 0) Thread.sleep(throttleMillis);
            } catch (Throwable t) {
                recover(t);
            }
        }
    }

    /**
     * A failed step leaves the batch in an unknown state: every sequence submitted so far fails with the
     * error, and decoding goes on with a fresh generator (a clean KV cache), so nothing carries over.
     */
    private void recover(Throwable t) {
        failures.incrementAndGet();
        List<Generator.Sequence> victims;
        lock.lock();
        try {
            victims = List.copyOf(live);
            live.clear();
            try {
                gen = factory.get();
            } catch (Throwable t2) {
                t.addSuppressed(t2);
            }
        } finally {
            lock.unlock();
        }
        LOG.log(System.Logger.Level.ERROR, "generation step failed; failing " + victims.size() + " request(s) and starting over", t);
        for (Generator.Sequence s : victims) s.result.completeExceptionally(t);
        try {
            Thread.sleep(50); // no hot loop if the failure repeats
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
