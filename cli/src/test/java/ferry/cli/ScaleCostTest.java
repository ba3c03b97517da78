package ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScaleCostTest {
    private static final ScaleCost COST = new ScaleCost("budget", List.of(
            new ScaleCost.Run(256, "completed", 9700, 8000L, 256L << 20, 9L, 35L, 30L << 20),
            new ScaleCost.Run(1024, "completed", 9600, 8800L, 284L << 20, 9L, 42L, 24L << 20),
            new ScaleCost.Run(4096, "not-converged", 70000, null, null, null, null, 60L << 20)));

    @Test
    void eachSizeIsSetAgainstTheSmallest() {
        JsonNode runs = COST.json().path("runs");
        assertThat(runs.get(0).path("time_factor").asDouble()).isEqualTo(1.0);
        assertThat(runs.get(1).path("memory_factor").asDouble()).isEqualTo(4.0);
        assertThat(runs.get(1).path("time_factor").asDouble()).isEqualTo(1.1);
        assertThat(runs.get(1).path("bytes_factor").asDouble()).isEqualTo(1.11);
        assertThat(runs.get(1).path("heap_factor").asDouble()).isEqualTo(0.8);
        // a run QEMU gave no figures for keeps them null, and its factors too
        assertThat(runs.get(2).path("qemu_total_ms").isNull()).isTrue();
        assertThat(runs.get(2).path("time_factor").isNull()).isTrue();
        assertThat(runs.get(2).path("heap_factor").asDouble()).isEqualTo(2.0);
        assertThat(COST.markdown()).contains("| 1024 | completed | 8.8 | 9.6 | 284 | 9 | 42 | 24 | 4 | 1.10 | 1.11 | 0.80 |")
                .contains("| 4096 | not-converged | ? | 70.0 | ? | ? | ? | 60 | 16 | ? | ? | 2.00 |");
    }

    @Test
    void thePeakHeapSeesWhatWasAllocatedSinceTheReset() {
        ScaleCost.resetHeapPeak();
        long before = ScaleCost.peakHeapBytes();
        byte[][] held = new byte[64][];
        for (int i = 0; i < held.length; i++) {
            held[i] = new byte[1 << 20];
        }
        assertThat(ScaleCost.peakHeapBytes()).isGreaterThanOrEqualTo(before + (60L << 20));
        assertThat(held[63]).hasSize(1 << 20);
    }
}
