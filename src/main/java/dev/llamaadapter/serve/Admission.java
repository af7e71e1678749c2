package dev.llamaadapter.serve;

import dev.llamaadapter.generate.Generator;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Who gets in and what became of them: a request takes a place in the queue (requests waiting or running,
 * at most {@code queue}; one more is refused with 429), and its end is counted as completed, cancelled or
 * failed, with its tokens. Generated tokens are also counted as they come, for the last minute's rate.
 */
final class Admission {
    private final int queue;
    private final AtomicInteger inFlight = new AtomicInteger();
    final AtomicLong admitted = new AtomicLong(), rejected = new AtomicLong(), completed = new AtomicLong(), cancelled = new AtomicLong(),
            failed = new AtomicLong(), promptTokens = new AtomicLong(), completionTokens = new AtomicLong();
    final Throughput throughput = new Throughput();

    Admission(int queue) {
        this.queue = queue;
    }

    int inFlight() {
        return inFlight.get();
    }

    /** Takes a place or throws the 429; a taken place is given back by {@link #leave} or by the result's end. */
    void enter() {
        if (inFlight.incrementAndGet() > queue) {
            inFlight.decrementAndGet();
            rejected.incrementAndGet();
            throw new ApiException(429, "rate_limit_error", "the server is busy: " + queue
                    + " requests are already waiting or running; retry later", null, "rate_limit_exceeded");
        }
    }

    /** The request was refused after it entered (the generator would not take it). */
    void leave() {
        inFlight.decrementAndGet();
    }

    /** Counts the sequence as admitted and its end when it comes. */
    void track(Generator.Sequence seq) {
        admitted.incrementAndGet();
        seq.result.whenComplete((r, e) -> {
            inFlight.decrementAndGet();
            if (e != null) failed.incrementAndGet();
            else if (r.finishReason().equals("cancelled")) cancelled.incrementAndGet();
            else {
                completed.incrementAndGet();
                promptTokens.addAndGet(r.promptTokens());
                completionTokens.addAndGet(r.tokenIds().length);
            }
        });
    }

    /** The sink a sequence reports to: every token counted for the rate, then passed on (inner may be null). */
    Generator.Sink counting(Generator.Sink inner) {
        return new Generator.Sink() {
            @Override
            public void token(int id, String text) {
                throughput.add(1);
                if (inner != null) inner.token(id, text);
            }

            @Override
            public void done(Generator.Result r) {
                if (inner != null) inner.done(r);
            }
        };
    }
}
