package dev.llamaadapter.tensor;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The kernel pool: every index exactly once, whatever the nesting, the callers or a failing chunk. */
class ParallelTest {

    @Test
    void everyIndexRunsOnceForManyShapes() {
        for (int n : new int[]{1, 2, 3, 7, 64, 1000})
            for (int chunks : new int[]{1, 2, 3, 8, 5000}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                Parallel.forRange(n, chunks, (lo, hi) -> {
                    assertThat(lo).isLessThan(hi);
                    for (int i = lo; i < hi; i++) hits.incrementAndGet(i);
                });
                for (int i = 0; i < n; i++) assertThat(hits.get(i)).as("n %d chunks %d index %d", n, chunks, i).isEqualTo(1);
            }
    }

    @Test
    void manyJobsInARowLoseNothing() {
        // thousands of tiny jobs: the hand-off between caller and spinning workers must never drop or repeat a chunk
        // (each job has its own range and counter: a chunk claimed for one job but run with the next one's body
        // would show as a wrong count)
        for (int rep = 0; rep < 20000; rep++) {
            int n = 5 + rep % 29;
            AtomicInteger count = new AtomicInteger();
            Parallel.forRange(n, 8, (lo, hi) -> count.addAndGet(hi - lo));
            assertThat(count.get()).as("job %d", rep).isEqualTo(n);
        }
    }

    @Test
    void nestedCallsRunInPlace() {
        AtomicIntegerArray hits = new AtomicIntegerArray(40 * 30);
        Parallel.forRange(40, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                int row = i;
                Parallel.forRange(30, (a, b) -> {
                    for (int j = a; j < b; j++) hits.incrementAndGet(row * 30 + j);
                });
            }
        });
        for (int i = 0; i < hits.length(); i++) assertThat(hits.get(i)).isEqualTo(1);
    }

    @Test
    void concurrentCallersAllComplete() throws Exception {
        int callers = 4, n = 2000;
        AtomicIntegerArray hits = new AtomicIntegerArray(callers * n);
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int c = 0; c < callers; c++) {
            int base = c * n;
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    for (int rep = 0; rep < 50; rep++)
                        Parallel.forRange(n, (lo, hi) -> { for (int i = lo; i < hi; i++) hits.incrementAndGet(base + i); });
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            threads.add(t);
            t.start();
        }
        start.countDown();
        for (Thread t : threads) t.join(60_000);
        assertThat(errors).isEmpty();
        for (int i = 0; i < hits.length(); i++) assertThat(hits.get(i)).isEqualTo(50);
    }

    @Test
    void aFailingChunkReachesTheCallerAndThePoolStaysUsable() {
        assertThatThrownBy(() -> Parallel.forRange(100, 8, (lo, hi) -> {
            if (lo <= 50 && 50 < hi) throw new IllegalArgumentException("chunk with 50");
        })).isInstanceOf(IllegalArgumentException.class).hasMessage("chunk with 50");
        AtomicInteger count = new AtomicInteger();
        Parallel.forRange(100, 8, (lo, hi) -> count.addAndGet(hi - lo));
        assertThat(count.get()).isEqualTo(100);
    }

    @Test
    void afterReleasingTheCoresTheNextJobStillRuns() throws Exception {
        Parallel.releaseCores();
        Thread.sleep(5); // workers park
        AtomicInteger count = new AtomicInteger();
        Parallel.forRange(64, 8, (lo, hi) -> count.addAndGet(hi - lo));
        assertThat(count.get()).isEqualTo(64);
    }
}
