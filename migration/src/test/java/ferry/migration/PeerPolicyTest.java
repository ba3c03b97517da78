package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.migration.policy.Policies;
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
 * The peer emulations against real QEMU behind a 16 MiB/s link: a guest that rewrites 32 MiB
 * slowly (a few MB/s) converges under both; one that rewrites it at ~50 MB/s outruns the link,
 * and oVirt's schedule (its looks every 2 s here instead of VDSM's 10 s) ends in an abort.
 */
@Timeout(120)
@Tag("long") // 40 s of real migrations; the emulations' rules run by default on recorded samples
class PeerPolicyTest {
    static final int BW_MIB = 16;
    static final BootblockGuest CALM = new BootblockGuest(128, 1024 * 1024 + (32L << 20), 400_000);
    static final BootblockGuest HOT = PolicyTest.HOT;

    @TempDir
    Path dir;

    private static MigrationResult migrate(TwoNodes nodes, int vmid, BootblockGuest guest, String policy)
            throws Exception {
        VmDefinition vm = nodes.bootblockVm(vmid, guest);
        QemuProcess src = nodes.a.start(vm);
        BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
        MigrationResult r = nodes.migrationFromA().run(new MigrationRequest(vmid, "b", true, false, BW_MIB, null,
                policy, null), "task-" + vmid, new TaskLog(), new CancelSignal());
        System.out.println(policy + ":\n" + String.join("\n", r.log()));
        return r;
    }

    @Test
    void kubevirtConvergesAtQemusDowntimeWithoutTouchingTheGuest() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            MigrationResult r = migrate(nodes, 520, CALM, "kubevirt");
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(r.maxThrottlePercent()).as("no auto-converge").isZero();
            assertThat(r.postcopy()).isFalse();
            assertThat(String.join("\n", r.log())).contains("policy kubevirt (an emulation of KubeVirt's default")
                    .contains("downtime-limit 300 ms (QEMU's default)").contains("abort after 150 s");
            assertThat(r.prediction()).isNotNull();
            assertThat(r.prediction().strategy()).isEqualTo("kubevirt");
            assertThat(r.prediction().converges()).isTrue();
            intactOnB(nodes, 520, CALM);
        }
    }

    @Test
    void ovirtConvergesOnACalmGuestAtItsFirstDowntime() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            MigrationResult r = migrate(nodes, 521, CALM, "ovirt");
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(String.join("\n", r.log())).contains("policy ovirt (an emulation of oVirt's \"Minimal downtime\"");
            assertThat(r.log()).as("done before VDSM's first look at 10 s").noneMatch(l -> l.contains("since the first look"));
            assertThat(r.prediction().strategy()).isEqualTo("ovirt");
            intactOnB(nodes, 521, CALM);
        }
    }

    @Test
    void ovirtAbortsAfterItsScheduleOnAGuestThatOutrunsTheLink() throws Exception {
        System.setProperty(Policies.OVIRT_INTERVAL_PROPERTY, "2000");
        try (TwoNodes nodes = new TwoNodes(dir)) {
            MigrationResult r = migrate(nodes, 522, HOT, "ovirt");
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.ABORTED);
            assertThat(r.log()).filteredOn(l -> l.contains("ovirt: ") && l.contains("(more than"))
                    .extracting(l -> l.replaceAll(".*downtime limit (\\d+) ms.*", "$1"))
                    .containsExactly("150", "200", "300", "400", "500");
            assertThat(r.error()).contains("whole Minimal downtime schedule");
            assertThat(r.maxThrottlePercent()).as("auto-converge acted meanwhile").isPositive();
            assertThat(r.transferredBytes()).isPositive();
            assertThat(nodes.a.status(522).state()).isEqualTo(LocalNode.State.RUNNING);
            assertThat(nodes.b.status(522).state()).isEqualTo(LocalNode.State.STOPPED);
            assertThat(nodes.store.vm(522).orElseThrow().lock()).isNull();
        } finally {
            System.clearProperty(Policies.OVIRT_INTERVAL_PROPERTY);
        }
    }

    private static void intactOnB(TwoNodes nodes, int vmid, BootblockGuest guest) {
        assertThat(nodes.a.status(vmid).state()).isEqualTo(LocalNode.State.STOPPED);
        QemuProcess target = nodes.b.running(vmid).orElseThrow();
        target.qmp().call(Commands.STOP);
        PageOracle.Result oracle = guest.checkMemory(target);
        assertThat(oracle.ok()).as(oracle.message()).isTrue();
    }
}
