package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ferry.node.NodeException;
import ferry.node.QemuBinary;
import ferry.node.QemuProcess;
import ferry.protocol.Commands;
import ferry.protocol.MigrateArgs;
import ferry.protocol.MigrateIncomingArgs;
import ferry.protocol.MigrationInfo;
import ferry.protocol.MigrationStatus;
import ferry.testkit.LinuxStressGuest.Gap;
import ferry.testkit.LinuxStressGuest.Tick;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Boots the linux-stress guest under TCG; skipped when the kernel (or QEMU) is not installed. */
class LinuxStressGuestTest {
    private static final Duration BOOT_TIMEOUT = Duration.ofSeconds(60);
    private static QemuBinary qemu;

    @TempDir Path dir;

    @BeforeAll
    static void needsKernelAndQemu() {
        String reason = LinuxStressGuest.unavailableReason();
        if (reason != null) {
            System.out.println("LinuxStressGuestTest skipped: " + reason);
        }
        assumeTrue(reason == null, reason);
        try {
            qemu = QemuBinary.find();
        } catch (NodeException e) {
            System.out.println("LinuxStressGuestTest skipped: " + e.getMessage());
            assumeTrue(false, e.getMessage());
        }
    }

    @Test
    void bootsTicksAndDirtiesAtTheRequestedRate() {
        LinuxStressGuest guest = new LinuxStressGuest(256, 64, 20);
        long t0 = System.nanoTime();
        try (QemuProcess q = guest.source(qemu, dir.resolve("source")).start()) {
            LinuxStressGuest.awaitBooted(q, BOOT_TIMEOUT);
            double boot = (System.nanoTime() - t0) / 1e9;
            assertThat(LinuxStressGuest.serial(q.serialLog())).contains(LinuxStressGuest.BOOTED);
            List<Tick> ticks = LinuxStressGuest.awaitTicks(q, 40, Duration.ofSeconds(30));
            for (int i = 1; i < ticks.size(); i++) {
                assertThat(ticks.get(i).seq()).as("tick %d", i).isEqualTo(ticks.get(i - 1).seq() + 1);
                assertThat(ticks.get(i).dirtiedMiB()).isGreaterThanOrEqualTo(ticks.get(i - 1).dirtiedMiB());
            }
            double rate = LinuxStressGuest.dirtyRate(ticks.subList(5, ticks.size()));
            System.out.printf("linux-stress under TCG: ready %.2f s after QEMU start; 20 MiB/s requested, %.1f MiB/s "
                    + "measured over %d ticks; gaps %s%n", boot, rate, ticks.size() - 5, LinuxStressGuest.gaps(q));
            assertThat(rate).isBetween(10.0, 30.0);
        }
    }

    @Test
    void stopAndContShowsAsAPause() throws Exception {
        try (QemuProcess q = new LinuxStressGuest(256, 32, 20).source(qemu, dir.resolve("source")).start()) {
            LinuxStressGuest.awaitBooted(q, BOOT_TIMEOUT);
            LinuxStressGuest.awaitTicks(q, 20, Duration.ofSeconds(30));
            q.qmp().call(Commands.STOP);
            long stopped = System.nanoTime();
            Thread.sleep(1000);
            q.qmp().call(Commands.CONT);
            long pausedMs = (System.nanoTime() - stopped) / 1_000_000;
            long resumedAt = System.currentTimeMillis();
            int ticksAtResume = LinuxStressGuest.ticks(q).size();
            Gap pause = awaitPause(q, Duration.ofSeconds(10));
            System.out.printf("linux-stress: stopped for %d ms (host), guest reports %s%n", pausedMs, pause);
            assertThat(pause.ms()).isBetween(700L, 3000L);
            assertThat(Math.abs(pause.ms() - pausedMs)).as("guest-observed vs host-observed pause").isLessThan(150);
            // The guest's clock follows the RTC, which lags the host's by QEMU's start-up phase (< 1 s),
            // and the pause is noticed at, or up to a second after, the resume.
            assertThat(pause.atMs() - resumedAt).isBetween(-1500L, 1500L);
            List<Tick> after = LinuxStressGuest.ticks(q);
            assertThat(after.size()).isGreaterThan(ticksAtResume);
            assertThat(after.getLast().seq()).isEqualTo(after.size() - 1);
            assertThat(LinuxStressGuest.gaps(q)).filteredOn(g -> g.kind() == Gap.Kind.PAUSE).hasSize(1);
        }
    }

    @Test
    void maxDirtyRate() {
        try (QemuProcess q = new LinuxStressGuest(256, 128, 0).source(qemu, dir.resolve("source")).start()) {
            LinuxStressGuest.awaitBooted(q, BOOT_TIMEOUT);
            List<Tick> ticks = LinuxStressGuest.awaitTicks(q, 35, Duration.ofSeconds(30));
            double rate = LinuxStressGuest.dirtyRate(ticks.subList(5, ticks.size()));
            System.out.printf("linux-stress under TCG, -m 256M, 128 MiB region, unlimited: %.0f MiB/s (%.0f pages/s)%n",
                    rate, rate * 256);
            assertThat(rate).isGreaterThan(100.0);
        }
    }

    @Test
    void migratesWithTheCounterCarryingOn() throws Exception {
        LinuxStressGuest guest = new LinuxStressGuest(256, 64, 20);
        Path sock = dir.resolve("migrate.sock");
        try (QemuProcess source = guest.source(qemu, dir.resolve("source")).start();
             QemuProcess target = guest.incoming(qemu, dir.resolve("target")).start()) {
            LinuxStressGuest.awaitBooted(source, BOOT_TIMEOUT);
            LinuxStressGuest.awaitTicks(source, 10, Duration.ofSeconds(30));
            target.qmp().call(Commands.MIGRATE_INCOMING, MigrateIncomingArgs.builder().uri("unix:" + sock).build());
            source.qmp().call(Commands.MIGRATE, MigrateArgs.builder().uri("unix:" + sock).build());
            MigrationInfo info = awaitMigration(source, Duration.ofSeconds(60));
            assertThat(info.status()).as("migration: %s", info).isEqualTo(MigrationStatus.COMPLETED);
            long lastOnSource = LinuxStressGuest.ticks(source).getLast().seq();
            List<Tick> onTarget = LinuxStressGuest.awaitTicks(target, 20, Duration.ofSeconds(30));
            assertThat(onTarget.getFirst().seq()).isBetween(lastOnSource, lastOnSource + 2);
            Thread.sleep(3000); // a pause is reported once the RTC's next edges confirm it
            List<Gap> gaps = LinuxStressGuest.gaps(target);
            System.out.printf("linux-stress migration: total %d ms, QEMU downtime %d ms; gaps the guest reported"
                    + " (pauses under 50 ms are not): %s%n", info.totalTime(), info.downtime(), gaps);
            assertThat(gaps).allSatisfy(g -> assertThat(g.ms()).isLessThan(5000));
        }
    }

    private static Gap awaitPause(QemuProcess q, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (Gap g : LinuxStressGuest.gaps(q)) {
                if (g.kind() == Gap.Kind.PAUSE) {
                    return g;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no FERRY-GAP ... pause within " + timeout.toSeconds() + " s; gaps "
                + LinuxStressGuest.gaps(q) + ", last ticks " + last(LinuxStressGuest.ticks(q)));
    }

    private static MigrationInfo awaitMigration(QemuProcess source, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            MigrationInfo info = source.qmp().call(Commands.QUERY_MIGRATE);
            if (info.status() == MigrationStatus.COMPLETED || info.status() == MigrationStatus.FAILED
                    || System.nanoTime() > deadline) {
                return info;
            }
            Thread.sleep(100);
        }
    }

    private static List<Tick> last(List<Tick> ticks) {
        return ticks.subList(Math.max(0, ticks.size() - 5), ticks.size());
    }
}
