package ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class TlsCostTest {
    @Test
    void theRatioIsTheMedianOfBackToBackPairsSoADriftingHostDoesNotSkewIt() {
        // the host slows down by half after the first pair: each pair still shows TLS at 80% of plain
        TlsCost c = new TlsCost(List.of(
                new TlsCost.Run(1, false, 100L << 20, 1000), new TlsCost.Run(1, true, 80L << 20, 1000),
                new TlsCost.Run(2, true, 40L << 20, 1000), new TlsCost.Run(2, false, 50L << 20, 1000),
                new TlsCost.Run(3, false, 50L << 20, 1000), new TlsCost.Run(3, true, 40L << 20, 1000)));
        assertThat(c.ratio()).isEqualTo(0.8, org.assertj.core.api.Assertions.within(1e-9));
        assertThat(c.medianMiBps(false)).isEqualTo(50.0);
        assertThat(c.medianMiBps(true)).isEqualTo(40.0);
        assertThat(c.json().path("ratio").asDouble()).isEqualTo(0.8);
        assertThat(c.markdown()).contains("| plain TCP | 50.0 | 100.0, 50.0, 50.0 |", "**0.80**");
    }
}
