package ferry.migration.plan;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** When a sample counts as starved. */
class VcpuTimeTest {
    @Test
    void aGuestThatWaitedMoreThanHalfTheTimeItWantedACpuIsStarved() {
        assertThat(new VcpuTime(600, 400).starved()).isFalse();
        assertThat(new VcpuTime(500, 500).starved()).isFalse();
        assertThat(new VcpuTime(0, 0).starved()).as("an idle guest").isFalse();
        assertThat(new VcpuTime(400, 600).starved()).isTrue();
        assertThat(new VcpuTime(0, 900).starved()).isTrue();
    }

    @Test
    void theDifferenceOfTwoReadings() {
        VcpuTime d = new VcpuTime(1_500, 4_000).since(new VcpuTime(1_000, 1_000));
        assertThat(d).isEqualTo(new VcpuTime(500, 3_000));
        assertThat(d.waitShare()).isEqualTo(3_000.0 / 3_500);
    }
}
