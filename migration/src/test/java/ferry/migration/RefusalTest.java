package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import ferry.node.HostMemory;
import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.testkit.BootblockGuest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each refusal says why, and leaves the VM, its lock and the target as they were. */
class RefusalTest {
    @TempDir
    Path dir;

    private static String refusal(TwoNodes nodes, MigrationRequest req) {
        Throwable e = catchThrowable(() -> nodes.migrationFromA().run(req, "t", new TaskLog(), new CancelSignal()));
        assertThat(e).isInstanceOf(MigrationRefused.class);
        return e.getMessage();
    }

    private static MigrationRequest req(int vmid, String target, boolean online) {
        return new MigrationRequest(vmid, target, online, false, null, null, null);
    }

    private static VmDefinition stoppedVm(TwoNodes nodes, String owner, int vmid, String storage) throws Exception {
        String vol = "vm-" + vmid + "-disk-0.raw";
        nodes.volumes.create((owner.equals("a") ? nodes.a : nodes.b).storages().get(storage), vol, "raw", 1 << 20);
        return nodes.define(owner, new VmDefinition(vmid, "vm" + vmid, 64, 1, null, null, null,
                List.of(new VmDefinition.Disk(storage, vol, "raw", "ide")), VmDefinition.Accel.TCG, null));
    }

    @Test
    void refusalsNameTheCauseAndChangeNothing() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            stoppedVm(nodes, "a", 300, "shared");
            stoppedVm(nodes, "b", 301, "shared");
            stoppedVm(nodes, "a", 302, "shared");
            nodes.store.lock(302, "a", "backup");

            assertThat(refusal(nodes, req(999, "b", false))).contains("VM 999 does not exist");
            assertThat(refusal(nodes, req(301, "b", false))).contains("owned by node 'b', not by 'a'");
            assertThat(refusal(nodes, req(302, "b", false))).contains("locked (backup)");
            assertThat(refusal(nodes, req(300, "x", false))).contains("unknown target node 'x'").contains("a, b");
            assertThat(refusal(nodes, req(300, "a", false))).contains("already on node 'a'");

            assertThat(nodes.store.vm(300).orElseThrow().owner()).isEqualTo("a");
            assertThat(nodes.store.vm(300).orElseThrow().lock()).isNull();
            assertThat(nodes.store.vm(302).orElseThrow().lock()).isEqualTo("backup");
            assertThat(nodes.store.openJournals()).isEmpty();
        }
    }

    @Test
    void storageMissingOnTargetAndLinkedCloneAreRefused() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            // node b lacks storage "only-a"
            java.nio.file.Files.createDirectories(dir.resolve("only-a"));
            var storages = new java.util.HashMap<>(nodes.a.storages());
            storages.put("only-a", new ferry.node.Storage("only-a", dir.resolve("only-a"), false));
            var a2 = new ferry.node.LocalNode("a", nodes.qemu, storages, dir.resolve("run-a"));
            nodes.volumes.create(storages.get("only-a"), "vm-310-disk-0.raw", "raw", 1 << 20);
            nodes.define("a", new VmDefinition(310, "vm310", 64, 1, null, null, null,
                    List.of(new VmDefinition.Disk("only-a", "vm-310-disk-0.raw", "raw", "ide")), VmDefinition.Accel.TCG, null));
            Migration m = new Migration(nodes.store, a2, nodes.volumes, n -> new LocalTarget(nodes.b, nodes.volumes, "127.0.0.1"));
            Throwable e = catchThrowable(() -> m.run(req(310, "b", false), "t", new TaskLog(), new CancelSignal()));
            assertThat(e).isInstanceOf(MigrationRefused.class)
                    .hasMessageContaining("storage 'only-a'").hasMessageContaining("target node 'b'");

            Path base = nodes.volumes.create(nodes.a.storages().get("local"), "base.qcow2", "qcow2", 1 << 20);
            nodes.volumes.createLinkedClone(nodes.a.storages().get("local"), "vm-311-disk-0.qcow2", base, "qcow2");
            nodes.define("a", new VmDefinition(311, "vm311", 64, 1, null, null, null,
                    List.of(new VmDefinition.Disk("local", "vm-311-disk-0.qcow2", "qcow2", "ide")), VmDefinition.Accel.TCG, null));
            assertThat(refusal(nodes, req(311, "b", false))).contains("linked clone");
            assertThat(nodes.store.vm(311).orElseThrow().lock()).isNull();
        }
    }

    @Test
    void runningVmNeedsOnlineAndUnreachableTargetIsRefused() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition vm = nodes.bootblockVm(320, new BootblockGuest(128, 1024 * 1024 + (8L << 20), 100_000));
            QemuProcess q = nodes.a.start(vm);
            q.detach();
            assertThat(refusal(nodes, req(320, "b", false))).contains("is running").contains("--online");

            Migration unreachable = new Migration(nodes.store, nodes.a, nodes.volumes, n -> new TargetNode() {
                public String name() { return n; }
                public Info probe() { throw new IllegalStateException("connection refused (127.0.0.1:2)"); }
                public QemuState state(int id) { throw new AssertionError(); }
                public QemuOffer qemuOffer() { throw new AssertionError(); }
                public Endpoint startIncoming(VmDefinition v, java.util.Set<String> c,
                        com.fasterxml.jackson.databind.node.ObjectNode p, String s, boolean t) { throw new AssertionError(); }
                public Endpoint recover(int id) { throw new AssertionError(); }
                public Endpoint probeSink() { throw new AssertionError(); }
                public void resume(int id) { throw new AssertionError(); }
                public void stop(int id) { throw new AssertionError(); }
                public void receiveVolume(VmDefinition.Disk d, Path f, Integer b) { throw new AssertionError(); }
                public List<String> freeVolumes(List<VmDefinition.Disk> d) { throw new AssertionError(); }
                public java.util.Map<String, StorageInfo> storages() { throw new AssertionError(); }
                public void createVolume(VmDefinition.Disk d, long size) { throw new AssertionError(); }
                public Endpoint exportDisks(int id, List<String> drives) { throw new AssertionError(); }
            });
            Throwable e = catchThrowable(() -> unreachable.run(req(320, "b", true), "t", new TaskLog(), new CancelSignal()));
            assertThat(e).isInstanceOf(MigrationRefused.class).hasMessageContaining("target node 'b' does not answer")
                    .hasMessageContaining("connection refused");
            assertThat(nodes.a.status(320).state()).isEqualTo(ferry.node.LocalNode.State.RUNNING);
            assertThat(nodes.store.vm(320).orElseThrow().lock()).isNull();
            nodes.a.stop(320, Duration.ofSeconds(5));
        }
    }

    /** What a refusal must leave as it was: the VM runs on a, unlocked, no journal, no QEMU of it on b. */
    private static void unchanged(TwoNodes nodes, int vmid) {
        assertThat(nodes.a.status(vmid).state()).isEqualTo(ferry.node.LocalNode.State.RUNNING);
        assertThat(nodes.store.vm(vmid).orElseThrow().owner()).isEqualTo("a");
        assertThat(nodes.store.vm(vmid).orElseThrow().lock()).isNull();
        assertThat(nodes.store.openJournals()).isEmpty();
        assertThat(nodes.store.closedJournals()).isEmpty();
        assertThat(nodes.b.running(vmid)).isEmpty();
    }

    @Test
    void aTargetInMaintenanceIsRefusedUntilItResumes() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition vm = nodes.bootblockVm(330, new BootblockGuest(128, 1024 * 1024 + (8L << 20), 100_000));
            nodes.a.start(vm).detach();
            nodes.store.maintenance("b", true); // as another process would: this migration's store reads it now

            assertThat(refusal(nodes, req(330, "b", true))).contains("target node 'b' is in maintenance")
                    .contains("ferry node resume b");
            unchanged(nodes, 330);
            assertThat(nodes.store.currentConfig().node("b").orElseThrow().maintenance()).isTrue();

            nodes.store.maintenance("b", false);
            MigrationResult r = nodes.migrationFromA().run(req(330, "b", true), "t", new TaskLog(), new CancelSignal());
            assertThat(r.status()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(nodes.store.vm(330).orElseThrow().owner()).isEqualTo("b");
        }
    }

    @Test
    void aTargetWithoutMemoryForTheVmIsRefused() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            // half the host's RAM, at least 8 GiB: QEMU takes guest RAM as it is touched, so it runs on a with a
            // few MiB, while b's agent holds back all but 100 MiB of what the host has free (however much other
            // work frees meanwhile, b cannot offer 8 GiB)
            HostMemory host = HostMemory.now();
            int mib = (int) Math.max(8192, (host.totalBytes() >> 20) / 2);
            VmDefinition vm = nodes.bootblockVm(331, new BootblockGuest(mib, 1024 * 1024 + (8L << 20), 100_000));
            nodes.a.start(vm).detach();
            Migration m = new Migration(nodes.store, nodes.a, nodes.volumes, n -> new LocalTarget(nodes.b, nodes.volumes,
                    "127.0.0.1").memoryReserve(host.availableBytes() - (100L << 20)));
            Throwable e = catchThrowable(() -> m.run(req(331, "b", true), "t", new TaskLog(), new CancelSignal()));
            assertThat(e).isInstanceOf(MigrationRefused.class)
                    .hasMessageContaining("target node 'b' has ")
                    .hasMessageContaining("VM 331 needs " + Sizes.bytes(((long) mib << 20) + (128L << 20)) + " (its "
                            + Sizes.bytes((long) mib << 20) + " plus 128.0 MiB for QEMU itself)")
                    .hasMessageContaining("free memory there or choose another node");
            assertThat(e.getMessage()).as("the numbers: what b can give, what it has, its reserve")
                    .containsPattern("has (\\d+\\.\\d [KMG]iB|\\d+ B) of memory for VMs \\(available \\d+\\.\\d [MG]iB, its "
                            + "agent's reserve \\d+\\.\\d [MG]iB\\)");
            unchanged(nodes, 331);
        }
    }
}
