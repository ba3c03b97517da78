package ferry.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Measures the guest's dirtying rate per delay value under TCG, to refresh the figures in
 * {@link Bootblock}'s comment. Slow, so only on request:
 * {@code mvn test -Dtest=BootblockCalibration -Dferry.bootblock.calibrate=true}.
 */
@EnabledIfSystemProperty(named = "ferry.bootblock.calibrate", matches = "true")
class BootblockCalibration {
    @TempDir Path dir;

    @Test
    void measure() throws Exception {
        Path cache = dir.resolve("cache");
        long[][] runs = {
            // delay, region end: smaller regions for big delays keep several passes per window
            {0, Bootblock.DEFAULT_REGION_END}, {300, Bootblock.DEFAULT_REGION_END},
            {1000, 33L << 20}, {3000, 9L << 20}, {10000, 3L << 20}, {20000, 2L << 20},
            {50000, (1L << 20) + (64L << 12)}, {100000, (1L << 20) + (32L << 12)},
        };
        for (long[] run : runs) {
            int delay = (int) run[0];
            long end = run[1];
            Path sub = Files.createDirectories(dir.resolve("d" + delay));
            try (TestGuest guest = TestGuest.start(sub, Bootblock.image(cache, end, delay), false)) {
                double passes = guest.passRate(Duration.ofSeconds(4));
                double pagesPerSec = passes * Bootblock.pages(end);
                System.out.printf("delay %7d: %5d pages, %8.2f passes/s, %10.0f pages/s, %9.1f MB/s, "
                                + "%8.2f passes/s over 99 MiB%n",
                        delay, Bootblock.pages(end), passes, pagesPerSec, pagesPerSec * 4096 / 1e6,
                        pagesPerSec / Bootblock.pages(Bootblock.DEFAULT_REGION_END));
            }
        }
    }
}
