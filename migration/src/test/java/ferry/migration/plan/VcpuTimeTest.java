package ferry.migration.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** When a sample counts as starved. */
class VcpuTimeTest {
    @Test
    void aGuestThatWaitedMoreThanHalfTheTimeItWantedACpuIsStarved() {
        Duration window = Duration.ofNanos(1000);
        assertThat(new VcpuTime(600, 400).starved(window)).isFalse();
        assertThat(new VcpuTime(500, 500).starved(window)).isFalse();
        assertThat(new VcpuTime(0, 0).starved(window)).as("an idle guest").isFalse();
        assertThat(new VcpuTime(400, 600).starved(window)).isTrue();
        assertThat(new VcpuTime(0, 900).starved(window)).isTrue();
    }

    @Test
    void aLightGuestThatWaitedABitIsNotStarved() {
        Duration window = Duration.ofMillis(200);
        // measured: S2's guest ran 7 ms and waited 16 ms of a 200 ms sample while the target started
        assertThat(new VcpuTime(7_000_000, 16_000_000).starved(window)).isFalse();
        // a CPU-bound guest kept waiting for a quarter of the window or more is
        assertThat(new VcpuTime(60_000_000, 140_000_000).starved(window)).isTrue();
        assertThat(new VcpuTime(20_000_000, 50_000_000).starved(window)).isTrue();
        assertThat(new VcpuTime(20_000_000, 49_000_000).starved(window)).isFalse();
    }

    @Test
    void theDifferenceOfTwoReadings() {
        VcpuTime d = new VcpuTime(1_500, 4_000).since(new VcpuTime(1_000, 1_000));
        assertThat(d).isEqualTo(new VcpuTime(500, 3_000));
        assertThat(d.waitShare()).isEqualTo(3_000.0 / 3_500);
    }
}
