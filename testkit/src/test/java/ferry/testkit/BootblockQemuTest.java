package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Boots the bootblock under TCG and checks what it does; skipped without QEMU. */
class BootblockQemuTest {
    private static final Duration BOOT_TIMEOUT = Duration.ofSeconds(20);

    @TempDir Path dir;

    @BeforeAll
    static void needsQemu() {
        assumeTrue(TestGuest.qemuAvailable(), TestGuest.QEMU + " not found; run scripts/install-deps");
    }

    @Test
    void bootsAndReportsPasses() throws Exception {
        Path image = Bootblock.build(dir.resolve("cache"));
        try (TestGuest guest = TestGuest.start(dir, image, false)) {
            assertThat(guest.awaitPasses(3, BOOT_TIMEOUT)).as(guest.diagnostics()).isTrue();
            assertThat(guest.serial()).startsWith("ABBB");
        }
    }

    @Test
    void delaySlowsTheGuestDown() throws Exception {
        Path cache = dir.resolve("cache");
        double fast;
        double slow;
        Files.createDirectories(dir.resolve("fast"));
        Files.createDirectories(dir.resolve("slow"));
        try (TestGuest guest = TestGuest.start(dir.resolve("fast"), Bootblock.image(cache, Bootblock.DEFAULT_REGION_END, 0), false)) {
            fast = guest.passRate(Duration.ofSeconds(2));
        }
        try (TestGuest guest = TestGuest.start(dir.resolve("slow"), Bootblock.image(cache, Bootblock.DEFAULT_REGION_END, 300), false)) {
            slow = guest.passRate(Duration.ofSeconds(2));
        }
        System.out.printf("bootblock TCG passes/s over 99 MiB: delay 0 -> %.1f, delay 300 -> %.1f%n", fast, slow);
        assertThat(fast).isGreaterThan(5);
        assertThat(slow).isLessThan(fast / 3);
    }

    @Test
    void memoryDumpSatisfiesTheOracle() throws Exception {
        Path image = Bootblock.build(dir.resolve("cache"));
        Path dump = dir.resolve("region.bin");
        long size = Bootblock.DEFAULT_REGION_END - Bootblock.REGION_START;
        int loggedPasses;
        try (TestGuest guest = TestGuest.start(dir, image, true);
             RawQmp qmp = RawQmp.connect(guest.qmpSocket, Duration.ofSeconds(10))) {
            assertThat(guest.awaitPasses(3, BOOT_TIMEOUT)).as(guest.diagnostics()).isTrue();
            qmp.execute("{\"execute\":\"stop\"}");
            loggedPasses = guest.passes();
            qmp.execute("{\"execute\":\"pmemsave\",\"arguments\":{\"val\":%d,\"size\":%d,\"filename\":\"%s\"}}"
                    .formatted(Bootblock.REGION_START, size, dump));
        }
        assertThat(Files.size(dump)).isEqualTo(size);

        PageOracle.Result r = PageOracle.check(dump);
        System.out.println("bootblock dump after " + loggedPasses + " logged passes: " + r.message());
        assertThat(r.ok()).as(r.message()).isTrue();
        assertThat(r.pages()).isEqualTo(25_344);
        // The counters must agree with the serial log: a pass in progress (a step) is one ahead of
        // the log; with no step, the last pass may also have finished just before its marker.
        int logged = loggedPasses & 0xff;
        int next = (loggedPasses + 1) & 0xff;
        if (r.firstBehind() >= 0) {
            assertThat(r.pass()).isEqualTo(next);
        } else {
            assertThat(r.pass()).isIn(logged, next);
        }

        // And the oracle notices a page that missed the latest write.
        byte[] bytes = Files.readAllBytes(dump);
        int victim = r.firstBehind() > 1 ? 1 : bytes.length / Bootblock.PAGE_SIZE - 1;
        bytes[victim * Bootblock.PAGE_SIZE] -= 2;
        assertThat(PageOracle.check(bytes).ok()).isFalse();
    }
}
