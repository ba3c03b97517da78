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
import org.junit.jupiter.api.Tag;
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

    /**
     * What QEMU's throttle takes from the guest, as its ticks show it: auto-converge held at 80% (a
     * migration into a pipe that throws it away, started at 80%, then slowed to 1 MiB/s so that it
     * never ends) leaves the stressor about 40% of its slices and of its writes. It makes up at most
     * one slice after a late wake-up, so neither count hides the throttle; it needs only a sliver of
     * CPU per slice, so it keeps more than the 20% a guest that needs the whole CPU would.
     */
    @Tag("long") // a measurement of the stressor under a throttle (20 s)
    @Test
    void aThrottledGuestRunsAFractionOfItsSlices() throws Exception {
        LinuxStressGuest guest = new LinuxStressGuest(256, 64, 48);
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        try (QemuProcess q = guest.source(qemu, dir.resolve("source")).start()) {
            LinuxStressGuest.awaitBooted(q, BOOT_TIMEOUT);
            LinuxStressGuest.awaitTicks(q, 20, Duration.ofSeconds(30));
            double[] before = rates(q, 3000);
            var caps = json.createObjectNode();
            caps.putArray("capabilities").addObject().put("capability", "auto-converge").put("state", true);
            q.qmp().execute(Commands.MIGRATE_SET_CAPABILITIES, caps);
            q.qmp().execute(Commands.MIGRATE_SET_PARAMETERS, json.createObjectNode().put("cpu-throttle-initial", 80)
                    .put("cpu-throttle-increment", 1).put("max-bandwidth", 32L << 20));
            q.qmp().execute(Commands.MIGRATE, json.createObjectNode().put("uri", "exec:cat > /dev/null"));
            long deadline = System.nanoTime() + 60_000_000_000L;
            MigrationInfo info = q.qmp().call(Commands.QUERY_MIGRATE);
            while ((info.cpuThrottlePercentage() == null || info.cpuThrottlePercentage() < 80)
                    && System.nanoTime() < deadline) {
                Thread.sleep(200);
                info = q.qmp().call(Commands.QUERY_MIGRATE);
            }
            assertThat(info.cpuThrottlePercentage()).as("the throttle started: %s", info).isNotNull();
            // from here on the stream is too slow to ever finish: the guest keeps running, throttled
            q.qmp().execute(Commands.MIGRATE_SET_PARAMETERS, json.createObjectNode().put("max-bandwidth", 1L << 20));
            double[] throttled = rates(q, 3000);
            MigrationInfo after = q.qmp().call(Commands.QUERY_MIGRATE);
            q.qmp().execute(Commands.MIGRATE_CANCEL, null);
            System.out.printf("linux-stress throttled to %d%%+: %.1f slices/s and %.1f MiB/s, before %.1f and %.1f%n",
                    info.cpuThrottlePercentage(), throttled[0], throttled[1], before[0], before[1]);
            assertThat(after.status()).as("still throttled at the end: %s", after).isEqualTo(MigrationStatus.ACTIVE);
            assertThat(throttled[0] / before[0]).as("slices").isBetween(0.15, 0.6);
            assertThat(throttled[1] / before[1]).as("MiB dirtied").isBetween(0.15, 0.6);
        }
    }

    /** Slices and MiB per second of the guest's clock over {@code ms} from now. */
    private static double[] rates(QemuProcess q, long ms) throws InterruptedException {
        Tick a = LinuxStressGuest.ticks(q).getLast();
        Thread.sleep(ms);
        Tick b = LinuxStressGuest.ticks(q).getLast();
        double s = (b.wallMs() - a.wallMs()) / 1000.0;
        return new double[] {(b.slices() - a.slices()) / s, (b.dirtiedMiB() - a.dirtiedMiB()) / s};
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
