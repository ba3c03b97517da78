package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.protocol.Commands;
import ferry.testkit.BootblockGuest;
import ferry.testkit.PageOracle;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The convergence policies against real QEMU, on a guest that rewrites 32 MiB at ~50 MB/s behind
 * a 16 MiB/s link: pre-copy alone can never fit that in 300 ms (it needs ~2 s).
 */
@Timeout(180)
class PolicyTest {
    static final int BW_MIB = 16;
    static final BootblockGuest HOT = new BootblockGuest(128, 1024 * 1024 + (32L << 20), 20_000);

    @TempDir
    Path dir;

    private MigrationResult migrate(TwoNodes nodes, int vmid, String policy, Integer downtime,
                                    MigrationRequest.Limits limits) throws Exception {
        return migrate(nodes, vmid, policy, downtime, limits, BW_MIB);
    }

    private MigrationResult migrate(TwoNodes nodes, int vmid, String policy, Integer downtime,
                                    MigrationRequest.Limits limits, int bwMiB) throws Exception {
        VmDefinition vm = nodes.bootblockVm(vmid, HOT);
        QemuProcess src = nodes.a.start(vm);
        BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
        MigrationResult r = nodes.migrationFromA().run(new MigrationRequest(vmid, "b", true, false, bwMiB, downtime,
                policy, limits), "task-" + vmid, new TaskLog(), new CancelSignal());
        System.out.println(policy + " " + limits + ":\n" + String.join("\n", r.log()));
        return r;
    }

    private static MigrationRequest.Limits limits(int maxDurationS, boolean throttle, boolean postcopy, boolean pause) {
        return new MigrationRequest.Limits(maxDurationS, throttle, postcopy, pause, null);
    }

    @Test
    void qemuDefaultNeverConvergesAndLeavesTheVmWhereItWas() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            MigrationResult r = migrate(nodes, 500, "qemu-default", null, limits(8, false, false, false));
            assertThat(r.status()).isEqualTo(MigrationResult.Status.NOT_CONVERGED);
            assertThat(r.error()).contains("did not converge within 8 s");
            assertThat(r.durationMs()).as("stopped at its time limit").isLessThan(20_000);
            assertThat(nodes.a.status(500).state()).isEqualTo(LocalNode.State.RUNNING);
            assertThat(nodes.b.status(500).state()).isEqualTo(LocalNode.State.STOPPED);
            assertThat(nodes.store.vm(500).orElseThrow().owner()).isEqualTo("a");
            assertThat(nodes.store.vm(500).orElseThrow().lock()).isNull();
            assertThat(r.prediction()).as("the planner's view was recorded").isNotNull();
            assertThat(r.prediction().converges()).as("the planner saw it coming").isFalse();
            // what was sent and for how long, although the stream never finished
            assertThat(r.transferredBytes()).as("bytes sent before the limit").isPositive();
            assertThat(r.qemuTotalMs()).as("QEMU's time of the stream").isBetween(7_000L, r.durationMs());
            assertThat(r.overheadMs()).isEqualTo(r.durationMs() - r.qemuTotalMs());
            // the guest still runs on the source: it makes new passes
            int before = BootblockGuest.passes(nodes.a.running(500).orElseThrow());
            BootblockGuest.awaitPasses(nodes.a.running(500).orElseThrow(), before + 1, Duration.ofSeconds(10));
        }
    }

    @Test
    void budgetWithThrottlingKeepsTheDowntime() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            MigrationResult r = migrate(nodes, 501, "budget", 300, limits(60, true, false, false));
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(r.downtimeMs()).as("QEMU-reported downtime").isLessThanOrEqualTo(300);
            assertThat(r.maxThrottlePercent()).as("auto-converge acted").isPositive();
            assertThat(r.postcopy()).isFalse();
            assertThat(String.join("\n", r.log())).containsPattern("budget: pass \\d+: throttling the guest");
            intactOnB(nodes, 501);
        }
    }

    @Test
    void budgetWithPostcopyKeepsTheDowntime() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            MigrationResult r = migrate(nodes, 502, "budget", 300, limits(60, false, true, false));
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(r.postcopy()).isTrue();
            assertThat(r.downtimeMs()).as("QEMU-reported downtime").isLessThanOrEqualTo(300);
            assertThat(String.join("\n", r.log())).contains("budget: switching to postcopy")
                    // the guest faults on pages it rewrites: the background stream makes room for those requests
                    .containsPattern("postcopy: \\S+ MiB/s sent, of which the target's page requests \\S+ MiB/s, against "
                            + "the limit of 16.0 MiB/s: the background stream gets \\S+ MiB/s");
            // an agent that follows this postcopy after a restart finds the user's limit in the journal
            assertThat(nodes.store.journal("task-502")).filteredOn(e -> e.path("kind").asText()
                    .equals(MigrationStep.START_POSTCOPY.wire())).singleElement()
                    .satisfies(e -> assertThat(e.path("postcopy_bandwidth").asLong()).isEqualTo((long) BW_MIB << 20));
            intactOnB(nodes, 502);
        }
    }

    /**
     * At 6 MiB/s the guest's first pass (about 32 MiB of non-zero pages) outlasts both samples of it,
     * the 200 ms one and the 2.5 s one beside the stream. Both see it outrun the link, so budget
     * switches with up to a quarter of the pass unsent. QEMU's own count shows it: the switch's sync is
     * its second, where a switch after the first pass makes a third.
     */
    @Test
    void budgetWithPostcopySwitchesWithinALongFirstPass() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            MigrationResult r = migrate(nodes, 507, "budget", 300, limits(60, false, true, false), 6);
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(r.postcopy()).isTrue();
            assertThat(r.downtimeMs()).as("QEMU-reported downtime").isLessThanOrEqualTo(300);
            assertThat(String.join("\n", r.log())).contains("budget: switching to postcopy within the first pass")
                    .containsPattern("[23] plans on separate samples").doesNotContain("budget: pass 2");
            assertThat(r.passes()).as("QEMU's dirty syncs: the first pass's end never came").isEqualTo(2);
            intactOnB(nodes, 507);
        }
    }

    @Test
    void classicDoublesUntilItFits() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            MigrationResult r = migrate(nodes, 503, "classic", null, limits(90, false, false, false));
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(r.log()).filteredOn(l -> l.contains("auto-increased downtime to continue migration"))
                    .as("the seed's doublings").hasSizeGreaterThanOrEqualTo(2);
            assertThat(String.join("\n", r.log())).contains("auto-increased downtime to continue migration: 200 ms")
                    .contains("auto-increased downtime to continue migration: 400 ms");
            intactOnB(nodes, 503);
        }
    }

    @Test
    void budgetWithNothingAllowedAbortsWithTheNumbers() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            MigrationResult r = migrate(nodes, 504, "budget", 300, limits(60, false, false, false));
            assertThat(r.status()).isEqualTo(MigrationResult.Status.ABORTED);
            assertThat(r.error()).contains("neither postcopy nor pausing is allowed").contains("dirty rate")
                    .contains("MiB/s");
            assertThat(r.transferredBytes()).as("an aborted run still says what it sent").isPositive();
            assertThat(r.qemuTotalMs()).isPositive();
            assertThat(nodes.a.status(504).state()).isEqualTo(LocalNode.State.RUNNING);
            assertThat(nodes.store.vm(504).orElseThrow().lock()).isNull();
        }
    }

    @Test
    void budgetMayPauseToFinish() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            MigrationResult r = migrate(nodes, 505, "budget", 300, limits(60, false, false, true));
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(r.pausedByFerryMs()).as("the guest was paused for the last pass").isPositive();
            assertThat(String.join("\n", r.log())).contains("budget: pausing the guest to finish");
            intactOnB(nodes, 505);
        }
    }

    /**
     * S2 of the issue: the guest dirties about half the link. Under TCG its rate follows the host's
     * speed, so the link is set from the rate measured here (twice it); its 48 MiB working set
     * makes the migration last seconds, so QEMU's fixed costs (which the model does not know) weigh
     * little. The planner's budget prediction and QEMU's measured total time agree within a factor
     * of two (the model knows neither QEMU's per-pass overhead nor that a sampled second is noisy).
     */
    @Tag("long") // prediction accuracy: a measurement, load-sensitive
    @Test
    void planAgreesWithTheOutcomeOnHalfBandwidthDirtying() throws Exception {
        BootblockGuest half = new BootblockGuest(128, 1024 * 1024 + (48L << 20), 100_000);
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition vm = nodes.bootblockVm(506, half);
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            double dirty = half.dirtyBytesPerS(src, Duration.ofSeconds(3));
            int link = (int) Math.max(4, Math.round(2 * dirty / (1 << 20)));
            System.out.printf("S2: the guest dirties %.1f MiB/s here; link %d MiB/s%n", dirty / (1 << 20), link);
            MigrationResult r = nodes.migrationFromA().run(new MigrationRequest(506, "b", true, false, link, 300,
                    "budget", null), "task-506", new TaskLog(), new CancelSignal());
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.COMPLETED);
            Plan.Prediction p = r.prediction();
            System.out.printf("S2 plan: %.2f s predicted, %d ms measured%n", p.seconds(), r.qemuTotalMs());
            assertThat(p.converges()).isTrue();
            assertThat(r.qemuTotalMs() / 1000.0).isBetween(p.seconds() / 2, p.seconds() * 2);
        }
    }

    private static void intactOnB(TwoNodes nodes, int vmid) {
        assertThat(nodes.a.status(vmid).state()).isEqualTo(LocalNode.State.STOPPED);
        QemuProcess target = nodes.b.running(vmid).orElseThrow();
        assertThat(nodes.b.status(vmid).state()).isEqualTo(LocalNode.State.RUNNING);
        target.qmp().call(Commands.STOP);
        PageOracle.Result oracle = HOT.checkMemory(target);
        assertThat(oracle.ok()).as(oracle.message()).isTrue();
    }
}
