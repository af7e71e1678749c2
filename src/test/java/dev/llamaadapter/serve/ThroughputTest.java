package dev.llamaadapter.serve;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The last minute's token rate: counts within 60 s are summed, older ones drop out as the ring comes round. */
class ThroughputTest {
    @Test
    void countsTheLastSixtySecondsOnly() {
        AtomicLong now = new AtomicLong(1_000_000_000L); // ms
        Throughput t = new Throughput(now::get);
        assertThat(t.perSecond()).isZero();
        t.add(30);
        assertThat(t.perSecond()).as("within the first second: over one second").isCloseTo(30, within(1e-9));
        now.addAndGet(10_000);
        t.add(90);
        assertThat(t.perSecond()).as("a young server: over the 10 s since start").isCloseTo(120 / 10.0, within(1e-9));
        now.addAndGet(40_000);
        assertThat(t.perSecond()).isCloseTo(120 / 50.0, within(1e-9));
        now.addAndGet(15_000);
        // the first count is 65 s old now, the second 55 s
        assertThat(t.perSecond()).isCloseTo(90 / 60.0, within(1e-9));
        now.addAndGet(5_000); // 60 s after the second count: its slot again, restarted rather than added to
        t.add(6);
        assertThat(t.perSecond()).isCloseTo(6 / 60.0, within(1e-9));
    }
}
