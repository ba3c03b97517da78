package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.qemu.QemuFeatures;
import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.protocol.Commands;
import ferry.testkit.BootblockGuest;
import ferry.testkit.PageOracle;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The stream's tuning in real migrations: what is set on which end, and the switch-over check. */
@Timeout(180)
class TuningMigrationTest {
    /** Rewrites 16 MiB slowly: pre-copy converges within a few passes. */
    static final BootblockGuest WARM = new BootblockGuest(128, 1024 * 1024 + (16L << 20), 100_000);
    /** Rewrites 96 MiB at ~45 MB/s: seconds of pre-copy at 40 MiB/s, converging with the throttle's help. */
    static final BootblockGuest BIG = new BootblockGuest(256, 1024 * 1024 + (96L << 20), 20_000);
    static final MigrationRequest.Limits THROTTLE = new MigrationRequest.Limits(60, true, false, false, null);

    @TempDir
    Path dir;

    private static MigrationResult migrate(TwoNodes nodes, int vmid, Migration m, int bwMiB, String policy,
                                           MigrationRequest.Limits limits, Tuning t) throws Exception {
        return run(nodes.a.start(nodes.bootblockVm(vmid, WARM)), m, vmid, bwMiB, policy, limits, t);
    }

    private static MigrationResult run(QemuProcess src, Migration m, int vmid, int bwMiB, String policy,
                                       MigrationRequest.Limits limits, Tuning t) throws Exception {
        BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
        MigrationResult r = m.run(new MigrationRequest(vmid, "b", true, false, bwMiB, null, policy, limits, t),
                "task-" + vmid, new TaskLog(), new CancelSignal());
        System.out.println(t + ":\n" + String.join("\n", r.log()));
        return r;
    }

    private static Map<String, Boolean> caps(QemuProcess q) {
        Map<String, Boolean> m = new HashMap<>();
        q.qmp().execute("query-migrate-capabilities", null)
                .forEach(c -> m.put(c.path("capability").asText(), c.path("state").asBoolean()));
        return m;
    }

    private static void intactOnB(TwoNodes nodes, int vmid) {
        intactOnB(nodes, vmid, WARM);
    }

    private static void intactOnB(TwoNodes nodes, int vmid, BootblockGuest guest) {
        assertThat(nodes.a.status(vmid).state()).isEqualTo(LocalNode.State.STOPPED);
        assertThat(nodes.store.vm(vmid).orElseThrow().owner()).isEqualTo("b");
        QemuProcess target = nodes.b.running(vmid).orElseThrow();
        target.qmp().call(Commands.STOP);
        PageOracle.Result oracle = guest.checkMemory(target);
        assertThat(oracle.ok()).as(oracle.message()).isTrue();
    }

    @Test
    void multifdWithZstdRunsWithTheSameChannelsAndCompressionOnBothEnds() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            Tuning t = new Tuning(2, "zstd", 1, "multifd", null, null, false, false, null, false, null);
            MigrationResult r = migrate(nodes, 600, nodes.migrationFromA(), 64, "budget", null, t);
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(String.join("\n", r.log())).contains("stream: multifd 2 channels, zstd compression level 1")
                    .contains("zero pages found by multifd");
            QemuProcess target = nodes.b.running(600).orElseThrow();
            assertThat(caps(target)).containsEntry("multifd", true);
            JsonNode params = target.qmp().execute("query-migrate-parameters", null);
            assertThat(params.path("multifd-channels").asInt()).isEqualTo(2);
            assertThat(params.path("multifd-compression").asText()).isEqualTo("zstd");
            double mibPerS = r.transferredBytes() / 1048576.0 / (r.qemuTotalMs() / 1000.0);
            System.out.printf("multifd+zstd: %d bytes on the wire in %d ms = %.1f MiB/s against a 64 MiB/s limit%n",
                    r.transferredBytes(), r.qemuTotalMs(), mibPerS);
            intactOnB(nodes, 600);
        }
    }

    @Test
    void multifdKeepsTheBandwidthLimit() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            Tuning t = new Tuning(2, null, null, "legacy", null, null, false, false, null, false, null);
            QemuProcess src = nodes.a.start(nodes.bootblockVm(606, BIG));
            MigrationResult r = run(src, nodes.migrationFromA(), 606, 40, "budget", THROTTLE, t);
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.COMPLETED);
            double mibPerS = r.transferredBytes() / 1048576.0 / (r.qemuTotalMs() / 1000.0);
            System.out.printf("multifd x2: %d bytes in %d ms = %.1f MiB/s against a 40 MiB/s limit%n",
                    r.transferredBytes(), r.qemuTotalMs(), mibPerS);
            // unsteered, two channels sent ~47 MiB/s here
            assertThat(mibPerS).as("what went over the wire, on average").isLessThan(40 * 1.12);
            assertThat(String.join("\n", r.log())).contains("QEMU's max-bandwidth lowered");
            intactOnB(nodes, 606, BIG);
        }
    }

    @Test
    void xbzrleSwitchoverAckAndACheckedSwitchOver() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            Tuning t = new Tuning(null, null, null, null, true, null, true, false, 16, true, null);
            MigrationResult r = migrate(nodes, 601, nodes.migrationFromA(), 16, "budget", THROTTLE, t);
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.COMPLETED);
            String log = String.join("\n", r.log());
            assertThat(log).containsPattern("xbzrle cache [\\d.]+ MiB \\(the guest's measured working set\\)")
                    .contains("switchover-ack, return-path").contains("switch-over bandwidth assumed 16.0 MiB/s")
                    .contains("switch-over: the source stopped at pre-switchover")
                    .containsPattern("switch-over: continued after \\d+ ms of checks")
                    .containsPattern("xbzrle: pass 1 left .* dirty");
            assertThat(caps(nodes.b.running(601).orElseThrow())).containsEntry("switchover-ack", true)
                    .containsEntry("return-path", true).containsEntry("xbzrle", false);
            intactOnB(nodes, 601);
        }
    }

    @Test
    void aTargetThatStopsAnsweringAtTheSwitchOverKeepsTheVmOnTheSource() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            Function<String, TargetNode> gone = name -> new ForwardingTarget(new LocalTarget(nodes.b, nodes.volumes,
                    "127.0.0.1")) {
                volatile boolean started;

                @Override
                public Info probe() {
                    if (started) {
                        throw new IllegalStateException("connection refused (127.0.0.1:2)");
                    }
                    return real.probe();
                }

                @Override
                public Endpoint startIncoming(VmDefinition vm, Set<String> caps, ObjectNode params, String source,
                                              boolean tls) {
                    Endpoint ep = real.startIncoming(vm, caps, params, source, tls);
                    started = true;
                    return ep;
                }
            };
            Migration m = new Migration(nodes.store, nodes.a, nodes.volumes, gone).pollInterval(Duration.ofMillis(300));
            Tuning t = new Tuning(null, null, null, null, null, null, false, false, null, true, null);
            MigrationResult r = migrate(nodes, 602, m, 64, "budget", null, t);
            assertThat(r.status()).isEqualTo(MigrationResult.Status.FAILED);
            assertThat(r.error()).contains("target node 'b' stopped answering at the switch-over")
                    .contains("the VM stays on node 'a'");
            assertThat(nodes.a.status(602).state()).isEqualTo(LocalNode.State.RUNNING);
            assertThat(nodes.b.status(602).state()).isEqualTo(LocalNode.State.STOPPED);
            assertThat(nodes.store.vm(602).orElseThrow().owner()).isEqualTo("a");
            assertThat(nodes.store.vm(602).orElseThrow().lock()).isNull();
            QemuProcess src = nodes.a.running(602).orElseThrow();
            int before = BootblockGuest.passes(src);
            BootblockGuest.awaitPasses(src, before + 1, Duration.ofSeconds(10));
        }
    }

    @Test
    void combinationsQemuRefusesAreRefusedBeforeAnythingStarts() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            nodes.bootblockVm(603, WARM);
            Tuning multifd = new Tuning(2, null, null, null, null, null, false, false, null, false, null);
            Throwable e = catchThrowable(() -> nodes.migrationFromA().prepare(
                    new MigrationRequest(603, "b", true, false, 32, null, "classic", null, multifd), "t", new TaskLog()));
            assertThat(e).isInstanceOf(MigrationRefused.class).hasMessageContaining("policy classic turns xbzrle on")
                    .hasMessageContaining("--no-xbzrle");
            Tuning four = new Tuning(4, null, null, null, null, null, false, false, null, false, null);
            e = catchThrowable(() -> nodes.migrationFromA().prepare(
                    new MigrationRequest(603, "b", true, false, 16, null, "budget", null, four), "t", new TaskLog()));
            assertThat(e).isInstanceOf(MigrationRefused.class).hasMessageContaining("--multifd 4 cannot keep a limit "
                    + "of 16 MiB/s").hasMessageContaining("at most 1 channel");
            assertThat(nodes.store.vm(603).orElseThrow().lock()).isNull();
            assertThat(nodes.b.status(603).state()).isEqualTo(LocalNode.State.STOPPED);
        }
    }

    @Test
    void dirtyLimitIsRefusedWithQemusReasonWhereTheHostCannot() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            QemuProcess src = nodes.a.start(nodes.bootblockVm(604, WARM));
            String why = QemuFeatures.dirtyLimitProblem(src);
            Assumptions.assumeTrue(why != null, "this host can throttle with dirty-limit");
            Tuning t = new Tuning(null, null, null, null, null, null, false, false, null, false, "dirty-limit");
            Throwable e = catchThrowable(() -> nodes.migrationFromA().prepare(
                    new MigrationRequest(604, "b", true, false, 32, null, "budget", THROTTLE, t), "t", new TaskLog()));
            assertThat(e).isInstanceOf(MigrationRefused.class).hasMessageContaining("cannot be throttled with dirty-limit")
                    .hasMessageContaining(why).hasMessageContaining("--throttle auto-converge");
            assertThat(nodes.store.vm(604).orElseThrow().lock()).isNull();
        }
    }

    @Test
    void budgetThrottlesWithDirtyLimitWhereTheHostCan() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            QemuProcess src = nodes.a.start(nodes.bootblockVm(605, WARM));
            String why = QemuFeatures.dirtyLimitProblem(src);
            if (why != null) {
                System.out.println("SKIPPED budgetThrottlesWithDirtyLimitWhereTheHostCan: dirty-limit is unavailable "
                        + "here: " + why);
            }
            Assumptions.assumeTrue(why == null, "dirty-limit is unavailable here: " + why);
            Tuning t = new Tuning(null, null, null, null, null, null, false, false, null, false, "dirty-limit");
            MigrationResult r = run(src, nodes.migrationFromA(), 605, 16, "budget", THROTTLE, t);
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(String.join("\n", r.log())).contains("throttle (dirty-limit");
            intactOnB(nodes, 605);
        }
    }
}
