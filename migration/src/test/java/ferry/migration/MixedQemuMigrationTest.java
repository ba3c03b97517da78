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

    /** With the cluster's certificates the streams go over TLS: 7.2 loads the credentials and the authz list too. */
    @Test
    void tlsStreamsWithMultifdBetween72And10() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir, qemu72, QEMU10)) {
            nodes.withCertificates();
            VmDefinition vm = nodes.bootblockVm(140, GUEST);
            BootblockGuest.awaitPasses(nodes.a.start(vm), 1, Duration.ofSeconds(30));
            nodes.a.running(140).orElseThrow().detach();
            MigrationResult r = nodes.tlsMigrationFromA("a", n -> nodes.tlsTargetB()).run(new MigrationRequest(140,
                    "b", true, false, 64, null, "qemu-default", null, tuning(2, null, false, null, null)), "task-140",
                    new TaskLog(), new CancelSignal());
            String log = String.join("\n", r.log());
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(log).contains("the migration stream over TLS: node 'a' presents CN=a").contains("multifd 2 channels");
            assertGuestIntact(nodes.b.running(140).orElseThrow());
        }
    }

    /**
     * Postcopy (budget with --allow-postcopy and a guest that dirties faster than the link), in both
     * directions; with {@code cut} the link is cut once the guest runs on the target, then restored,
     * and the migration must recover. What 7.2 and 10.0 do together is printed.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"false,false", "false,true"})
    @org.junit.jupiter.api.Timeout(150)
    void postcopyBetween72And10(boolean from72, boolean cut) throws Exception {
        BootblockGuest hot = PostcopyRecoveryTest.HOT;
        try (TwoNodes nodes = from72 ? new TwoNodes(dir, qemu72, QEMU10) : new TwoNodes(dir, QEMU10, qemu72)) {
            VmDefinition vm = withMachine(nodes.bootblockVm(150, hot), "pc-i440fx-7.2");
            nodes.store.update(150, "a", TwoNodes.JSON.valueToTree(vm), null);
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            src.detach();
            var link = new PostcopyRecoveryTest.CutLink(new LocalTarget(nodes.b, nodes.volumes, "127.0.0.1"), nodes.b);
            TargetNode target = cut ? link : new LocalTarget(nodes.b, nodes.volumes, "127.0.0.1");
            Migration m = new Migration(nodes.store, nodes.a, nodes.volumes, n -> target)
                    .pollInterval(Duration.ofMillis(300));
            TaskLog taskLog = new TaskLog();
            String what = (from72 ? "7.2 -> 10.0" : "10.0 -> 7.2") + " postcopy" + (cut ? " with the link cut" : "");
            taskLog.follow(line -> System.out.println(what + ": " + line));
            MigrationResult r;
            try (link) {
                r = m.run(new MigrationRequest(150, "b", true, false, 8, 300, "budget",
                        new MigrationRequest.Limits(60, false, true, false, 30)), "task-150", taskLog,
                        new CancelSignal());
            }
            String log = String.join("\n", r.log());
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(r.postcopy()).as(log).isTrue();
            assertThat(log).contains("migration status: completed (postcopy)");
            if (cut) {
                assertThat(link.cutAt).as("the link was cut").isPositive();
                assertThat(log).contains("postcopy paused: the link to node 'b' broke");
            }
            QemuProcess onB = nodes.b.running(150).orElseThrow();
            onB.qmp().call(Commands.STOP);
            PageOracle.Result oracle = hot.checkMemory(onB);
            assertThat(oracle.ok()).as(oracle.message()).isTrue();
            onB.detach();
        }
    }

    /**
     * A local disk mirrored from 10.0 into 7.2's NBD server, over TLS both for the RAM and the disk:
     * the target's volume holds exactly what the source's held, including a write made just before.
     */
    @Test
    void aLocalDiskMovesFrom10To72OverTls() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir, QEMU10, qemu72)) {
            nodes.withCertificates();
            VmDefinition vm = withMachine(LocalDiskMigrationTest.withDataDisk(nodes, 180, "raw", "virtio"),
                    "pc-i440fx-7.2");
            nodes.store.update(180, "a", TwoNodes.JSON.valueToTree(vm), null);
            nodes.a.start(vm).detach();
            LocalDiskMigrationTest.qemuIo(nodes.a, 180, "write -P 0x3c 1M 64k");
            MigrationResult r = nodes.tlsMigrationFromA("a", n -> nodes.tlsTargetB()).run(new MigrationRequest(180,
                    "b", true, false, 64, null, "qemu-default").withDisks(new MigrationRequest.DiskOptions(true, null,
                    false)), "task-180", new TaskLog(), new CancelSignal());
            String log = String.join("\n", r.log());
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(log).contains("exports disk1 over TLS").contains("actively synced");
            String volume = LocalDiskMigrationTest.dataVolume(180, "raw");
            nodes.b.stop(180, Duration.ofSeconds(5));
            byte[] there = java.nio.file.Files.readAllBytes(nodes.b.storages().get("local").volumePath(volume));
            assertThat(there[0]).isEqualTo((byte) 0xa5);
            assertThat(there[(1 << 20) + 100]).isEqualTo((byte) 0x3c);
            assertThat(nodes.a.storages().get("local").volumePath(volume)).doesNotExist();
        }
    }

    /**
     * Postcopy from a 7.2 source is refused: its recovery after a cut link never completed towards
     * 10.0 (the source stayed in postcopy-recover; 10.0 -> 7.2 recovers, see above).
     */
    @Test
    void postcopyFrom72IsRefusedBeforeAnythingChanges() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir, qemu72, QEMU10)) {
            nodes.bootblockVm(170, GUEST);
            nodes.a.start(nodes.store.vm(170).map(v -> TwoNodes.JSON.convertValue(v.config(), VmDefinition.class))
                    .orElseThrow()).detach();
            String why = refusal(nodes, new MigrationRequest(170, "b", true, false, 8, 300, "budget",
                    new MigrationRequest.Limits(60, false, true, false, 30)));
            assertThat(why).contains("postcopy from QEMU " + qemu72.version() + " on node 'a' to QEMU "
                    + QEMU10.version() + " on node 'b' cannot be recovered").contains("drop --allow-postcopy");
            assertNothingChanged(nodes, 170);
        }
    }

    /**
     * The upgrade path until node evacuation exists: every VM of the node on 7.2 moves to the node on
     * 10.0, the running ones live (each checked page by page there), the stopped one offline.
     */
    @Test
    void everyVmOfA72NodeMovesToA10Node() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir, qemu72, QEMU10)) {
            nodes.bootblockVm(160, GUEST);
            nodes.bootblockVm(161, GUEST);
            nodes.bootblockVm(162, GUEST); // defined on a, never started
            for (int vmid : new int[] {160, 161}) {
                nodes.a.start(nodes.store.vm(vmid).map(v -> TwoNodes.JSON.convertValue(v.config(), VmDefinition.class))
                        .orElseThrow()).detach();
            }
            for (var rec : nodes.store.vmsOf("a")) {
                boolean running = nodes.a.status(rec.vmid()).state() == LocalNode.State.RUNNING;
                MigrationResult r = nodes.migrationFromA().run(new MigrationRequest(rec.vmid(), "b", running, false,
                        null, null, "budget"), "evacuate-" + rec.vmid(), new TaskLog(), new CancelSignal());
                assertThat(r.status()).as(String.join("\n", r.log())).isEqualTo(MigrationResult.Status.COMPLETED);
            }
            assertThat(nodes.store.vmsOf("a")).isEmpty();
            assertThat(nodes.store.vmsOf("b")).extracting(v -> v.vmid()).containsExactlyInAnyOrder(160, 161, 162);
            assertThat(nodes.b.running(162)).isEmpty();
            for (int vmid : new int[] {160, 161}) {
                assertThat(nodes.a.status(vmid).state()).isEqualTo(LocalNode.State.STOPPED);
                QemuProcess onB = nodes.b.running(vmid).orElseThrow();
                assertThat(onB.qmp().execute("query-version", null).path("qemu").path("major").asInt()).isEqualTo(10);
                assertGuestIntact(onB);
            }
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
