package dev.llamaadapter.serve;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * Tokens generated over the last minute, for the page's "tokens/s": sixty one-second buckets in a ring,
 * each stamped with the second it counts, so a bucket left from a minute ago reads as empty rather than
 * being cleared by a timer. Lock-free: the scheduler thread adds, any request thread reads.
 */
final class Throughput {
    static final int SECONDS = 60;

    private final AtomicLongArray counts = new AtomicLongArray(SECONDS); // [60] tokens in that second
    private final AtomicLongArray stamps = new AtomicLongArray(SECONDS); // [60] the epoch second each bucket counts
    private final LongSupplier clockMillis;
    private final long startMillis;

    Throughput(LongSupplier clockMillis) {
        this.clockMillis = clockMillis;
        this.startMillis = clockMillis.getAsLong();
    }

    Throughput() {
        this(System::currentTimeMillis);
    }

    void add(long tokens) {
        long sec = clockMillis.getAsLong() / 1000;
        int i = (int) (sec % SECONDS);
        long was = stamps.get(i);
        // a stale bucket is claimed by one caller, who restarts its count; a racing add may land in the old
        // count and be lost, which a rate over a minute can bear
        if (was != sec && stamps.compareAndSet(i, was, sec)) counts.set(i, 0);
        counts.addAndGet(i, tokens);
    }

    /**
     * Tokens per second over the last 60 seconds (the current second included), or over the time since
     * start while that is shorter (at least a second), so that a young server's rate is not diluted.
     */
    double perSecond() {
        long nowMillis = clockMillis.getAsLong(), now = nowMillis / 1000, sum = 0;
        for (int i = 0; i < SECONDS; i++) if (now - stamps.get(i) < SECONDS) sum += counts.get(i);
        double window = Math.clamp((nowMillis - startMillis) / 1000.0, 1.0, SECONDS);
        return sum / window;
    }
}
