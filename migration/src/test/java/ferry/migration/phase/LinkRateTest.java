package ferry.migration.phase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LinkRateTest {
    private static final long MS = 1_000_000;
    private static final double MIB = 1048576;

    /** A 32 MiB/s limit that lets each 100 ms window open with a burst: polls 20 ms apart see the burst. */
    @Test
    void burstsBetweenClosePollsAverageOutOverTheWindow() {
        LinkRate rate = new LinkRate();
        double last = 0;
        long sent = 0;
        for (int ms = 0; ms <= 3000; ms += 20) {
            if (ms % 100 == 0) {
                sent += (long) (3.2 * MIB); // the window's whole allowance at once
            }
            last = rate.add(ms * MS, sent, 0, 0);
        }
        assertThat(last / MIB).isCloseTo(32, within(4.0));
    }

    @Test
    void neverAboveTheLimitGivenAndQemusFigureUntilTheCounterMoves() {
        LinkRate rate = new LinkRate();
        assertThat(rate.add(0, 0, 7 * MIB, 0)).isEqualTo(7 * MIB);
        assertThat(rate.add(100 * MS, 0, 8 * MIB, 0)).as("nothing moved yet").isEqualTo(8 * MIB);
        assertThat(rate.add(200 * MS, (long) (20 * MIB), 0, 32 * MIB)).isEqualTo(32 * MIB);
        // observations older than a window behind the next oldest are let go: the rate is since 200 ms
        assertThat(rate.add(1300 * MS, (long) (40 * MIB), 0, 0) / MIB).isCloseTo(20 / 1.1, within(0.1));
    }
}
