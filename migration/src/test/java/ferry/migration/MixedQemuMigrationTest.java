package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import ferry.node.LocalNode;
import ferry.node.NodeException;
import ferry.node.QemuBinary;
import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.protocol.Commands;
import ferry.testkit.BootblockGuest;
import ferry.testkit.PageOracle;
import ferry.testkit.Qemu72;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Migrations between Debian's QEMU 7.2 (unpacked by the test kit) and the installed QEMU 10:
 * live in both directions where the machine type allows, and every refusal before anything changes.
 */
class MixedQemuMigrationTest {
    private static QemuBinary qemu72;
    private static final QemuBinary QEMU10 = QemuBinary.find();

    @TempDir
    Path dir;

    @BeforeAll
    static void provide() {
        try {
            qemu72 = Qemu72.provide();
        } catch (NodeException e) {
            System.out.println("MixedQemuMigrationTest skipped: " + e.getMessage());
            Assumptions.abort(e.getMessage());
        }
        Assumptions.assumeTrue(QEMU10.major() >= 10, "needs the installed QEMU 10, found " + QEMU10.version());
    }

    private static final BootblockGuest GUEST = new BootblockGuest(128, 1024 * 1024 + (32L << 20), 100_000);

    @ParameterizedTest
    @ValueSource(strings = {"qemu-default", "budget"})
    void liveFrom72To10KeepsEveryPage(String policy) throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir, qemu72, QEMU10)) {
            VmDefinition vm = nodes.bootblockVm(100, GUEST); // machine "pc": pc-i440fx-7.2 on QEMU 7.2
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            src.detach();
            MigrationResult r = nodes.migrationFromA().run(new MigrationRequest(100, "b", true, false, null, null,
                    policy), "task-1", new TaskLog(), new CancelSignal());

            String log = String.join("\n", r.log());
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(log).contains("pinned machine type 'pc-i440fx-7.2' (pc)");
            assertThat(nodes.a.status(100).state()).isEqualTo(LocalNode.State.STOPPED);
            QemuProcess target = nodes.b.running(100).orElseThrow();
            assertThat(target.qmp().execute("query-version", null).path("qemu").path("major").asInt()).isEqualTo(10);
            assertGuestIntact(target);
            System.out.printf("7.2 -> 10.0 (%s): downtime %s ms, %d bytes, %d ms%n", policy, r.downtimeMs(),
                    r.transferredBytes(), r.durationMs());
        }
    }

    @Test
    void liveFrom10To72WhenTheVmRunsA72MachineType() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir, QEMU10, qemu72)) {
            VmDefinition vm = nodes.bootblockVm(110, GUEST);
            nodes.store.update(110, "a", TwoNodes.JSON.valueToTree(withMachine(vm, "pc-i440fx-7.2")), null);
            QemuProcess src = nodes.a.start(withMachine(vm, "pc-i440fx-7.2"));
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            src.detach();
            MigrationResult r = nodes.migrationFromA().run(new MigrationRequest(110, "b", true, false, null, null,
                    "qemu-default"), "task-2", new TaskLog(), new CancelSignal());

            assertThat(r.status()).as(String.join("\n", r.log())).isEqualTo(MigrationResult.Status.COMPLETED);
            QemuProcess target = nodes.b.running(110).orElseThrow();
            assertThat(target.qmp().execute("query-version", null).path("qemu").path("major").asInt()).isEqualTo(7);
            assertGuestIntact(target);
        }
    }

    @Test
    void a10MachineTypeIsRefusedTowards72BeforeAnythingChanges() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir, QEMU10, qemu72)) {
            VmDefinition vm = nodes.bootblockVm(120, GUEST); // "pc" on 10.0: pc-i440fx-10.0
            nodes.a.start(vm).detach();
            String why = refusal(nodes, new MigrationRequest(120, "b", true, false, null, null, "qemu-default"));
            assertThat(why).contains("runs machine type 'pc-i440fx-10.0' on node 'a' (QEMU " + QEMU10.version() + ")")
                    .contains("QEMU " + qemu72.version() + " on target node 'b' lacks it")
                    .contains("'pc-i440fx-7.2'");
            assertNothingChanged(nodes, 120);
        }
    }

    /** Each option 7.2 lacks, in both directions: the side that lacks it is named with its version. */
    @Test
    void everyOptionOneQemuLacksIsRefusedBeforeAnythingChanges() throws Exception {
        Tuning zeroPages = tuning(null, "legacy", false, null, null);
        Tuning ack = tuning(null, null, true, null, null);
        Tuning bandwidth = tuning(null, null, false, 100, null);
        Tuning dirtyLimit = tuning(null, null, false, null, "dirty-limit");
        try (TwoNodes nodes = new TwoNodes(dir, qemu72, QEMU10)) {
            VmDefinition vm = nodes.bootblockVm(130, GUEST);
            nodes.a.start(vm).detach();
            String on72 = "QEMU " + qemu72.version() + " on node 'a' lacks ";
            assertThat(refusal(nodes, tuned(130, zeroPages))).contains(on72 + "migration parameter "
                    + "'zero-page-detection' (--zero-page-detection); QEMU 9.0 and newer have it");
            assertThat(refusal(nodes, tuned(130, ack))).contains(on72 + "migration capability 'switchover-ack' "
                    + "(--switchover-ack); QEMU 8.1 and newer have it");
            assertThat(refusal(nodes, tuned(130, bandwidth))).contains(on72 + "migration parameter "
                    + "'avail-switchover-bandwidth' (--switchover-bandwidth); QEMU 8.2 and newer have it");
            assertThat(refusal(nodes, withPolicy(tuned(130, dirtyLimit), "budget", true)))
                    .contains(on72 + "migration capability 'dirty-limit'");
            assertNothingChanged(nodes, 130);
        }
        try (TwoNodes nodes = new TwoNodes(dir.resolve("back"), QEMU10, qemu72)) {
            VmDefinition vm = withMachine(nodes.bootblockVm(131, GUEST), "pc-i440fx-7.2");
            nodes.store.update(131, "a", TwoNodes.JSON.valueToTree(vm), null);
            nodes.a.start(vm).detach();
            String on72 = "QEMU " + qemu72.version() + " on node 'b' lacks ";
            assertThat(refusal(nodes, tuned(131, zeroPages))).contains(on72 + "migration parameter "
                    + "'zero-page-detection'");
            assertThat(refusal(nodes, tuned(131, ack))).contains(on72 + "migration capability 'switchover-ack'");
            assertNothingChanged(nodes, 131);
        }
    }

    private static Tuning tuning(Integer channels, String zeroPages, boolean ack, Integer availMiBps, String throttle) {
        return new Tuning(channels, null, null, zeroPages, null, null, ack, false, availMiBps, false, throttle);
    }

    private static MigrationRequest tuned(int vmid, Tuning t) {
        return new MigrationRequest(vmid, "b", true, false, null, null, "qemu-default", null, t);
    }

    private static MigrationRequest withPolicy(MigrationRequest r, String policy, boolean throttle) {
        return new MigrationRequest(r.vmid(), r.target(), true, false, null, null, policy,
                new MigrationRequest.Limits(null, throttle, false, false, null), r.tuning());
    }

    static VmDefinition withMachine(VmDefinition vm, String machine) {
        return new VmDefinition(vm.vmid(), vm.name(), vm.memoryMiB(), vm.vcpus(), machine, vm.cpu(), vm.boot(),
                vm.disks(), vm.accel(), vm.migration());
    }

    private static String refusal(TwoNodes nodes, MigrationRequest req) {
        Throwable e = catchThrowable(() -> nodes.migrationFromA().run(req, "t-" + System.nanoTime(), new TaskLog(),
                new CancelSignal()));
        assertThat(e).isInstanceOf(MigrationRefused.class);
        return e.getMessage();
    }

    /** The VM still runs on a, unlocked and a's; b never started a QEMU for it; no journal is open. */
    private static void assertNothingChanged(TwoNodes nodes, int vmid) {
        assertThat(nodes.a.status(vmid).state()).isEqualTo(LocalNode.State.RUNNING);
        assertThat(nodes.b.running(vmid)).isEmpty();
        var rec = nodes.store.vm(vmid).orElseThrow();
        assertThat(rec.owner()).isEqualTo("a");
        assertThat(rec.lock()).isNull();
        assertThat(nodes.store.openJournals()).isEmpty();
    }

    static void assertGuestIntact(QemuProcess target) throws Exception {
        BootblockGuest.awaitPassMarkers(target, 1, Duration.ofSeconds(30));
        target.qmp().call(Commands.STOP);
        PageOracle.Result oracle = GUEST.checkMemory(target);
        assertThat(oracle.ok()).as(oracle.message()).isTrue();
        target.detach();
    }
}
