package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import ferry.migration.phase.Sleep;
import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.protocol.Commands;
import ferry.testkit.BootblockGuest;
import ferry.testkit.LinkRelay;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Live migration with a local data disk (real QEMU): a bootblock guest boots from shared storage,
 * its data disk is local to node a and mirrored to node b over NBD. The disk's content is known:
 * one pattern written before boot, a second one written through the source QEMU's block layer
 * (HMP {@code qemu-io}, the path a guest's write takes) while the mirror is in write-blocking mode.
 */
class LocalDiskMigrationTest {
    static final BootblockGuest GUEST = new BootblockGuest(64, 1024 * 1024 + (8L << 20), 100_000);
    static final long SIZE = 64L << 20;
    static final long PATTERN_A = 8L << 20; // bytes 0xa5 from 0, before boot
    static final long B_OFFSET = 32L << 20;
    static final long PATTERN_B = 1L << 20; // bytes 0x5a at 32 MiB, during the migration

    @TempDir
    Path dir;

    @Test
    void rawLocalDiskMovesWithEveryWrite() throws Exception {
        migrateAndCheck("raw", "local", "local");
    }

    @Test
    void qcow2LocalDiskMovesToAnotherStorageAndStaysSparse() throws Exception {
        migrateAndCheck("qcow2", "other", "local:other");
    }

    private void migrateAndCheck(String format, String targetStorage, String map) throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition vm = withDataDisk(nodes, 400, format, "virtio");
            Path src = nodes.a.storages().get("local").volumePath(dataVolume(400, format));
            QemuProcess q = nodes.a.start(vm);
            BootblockGuest.awaitPasses(q, 1, Duration.ofSeconds(30));
            q.detach();
            List<String> hmp = new ArrayList<>();
            Migration m = nodes.migrationFromA().onStep((task, step) -> {
                if (step == MigrationStep.MIGRATE) {
                    // the mirrors are write-blocking now: this write must reach the target before it completes
                    hmp.add(qemuIo(nodes.a, 400, "write -P 0x5a " + B_OFFSET + " " + PATTERN_B));
                }
            });
            MigrationRequest req = new MigrationRequest(400, "b", true, false, 32, null, null)
                    .withDisks(new MigrationRequest.DiskOptions(true, map, false));
            TaskLog taskLog = new TaskLog();
            List<Progress> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread sampler = Thread.ofVirtual().start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    Progress p = taskLog.progress();
                    if (p != null && (seen.isEmpty() || seen.get(seen.size() - 1) != p)) {
                        seen.add(p);
                    }
                    Sleep.quietly(20);
                }
            });
            MigrationResult r = m.run(req, "task-disk-" + format, taskLog, new CancelSignal());
            sampler.interrupt();
            String log = String.join("\n", r.log());
            // the whole (disks, then RAM) never goes back
            assertThat(seen).extracting(Progress::phase).contains("disks", "precopy");
            for (int i = 1; i < seen.size(); i++) {
                assertThat(seen.get(i).percent()).as("progress " + seen).isGreaterThanOrEqualTo(seen.get(i - 1).percent());
            }
            assertThat(seen.stream().filter(p -> p.phase().equals("disks")).mapToDouble(Progress::percent).max()
                    .orElseThrow()).as("the disks' share: 64 MiB beside 64 MiB of RAM").isLessThanOrEqualTo(50);
            System.out.println(log);

            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(hmp).as("qemu-io wrote during the migration").hasSize(1);
            // QEMU prints qemu-io's report on its own stdout; an error would come back here
            assertThat(hmp.get(0)).as("qemu-io answer").isEmpty();
            assertThat(log).contains("drive-disk1: mirror-job started", "all mirroring jobs are ready",
                    "all mirroring jobs are actively synced", "mirrors ended with the guest stopped")
                    .containsPattern("drive-disk1: transferred .* of 64\\.0 MiB \\(100\\.00%\\)");
            assertThat(src).as("source volume freed after the target ran").doesNotExist();
            var rec = nodes.store.vm(400).orElseThrow();
            assertThat(rec.owner()).isEqualTo("b");
            assertThat(rec.lock()).isNull();
            assertThat(rec.config().path("disks").get(1).path("storage").asText()).isEqualTo(targetStorage);
            assertThat(nodes.b.status(400).state()).isEqualTo(LocalNode.State.RUNNING);
            // the guest stopped on b (its QEMU quit), the target image must hold exactly what was written
            nodes.b.stop(400, Duration.ofSeconds(5));
            Path copy = nodes.b.storages().get(targetStorage).volumePath(dataVolume(400, format));
            byte[] got = asRaw(nodes, copy, format);
            assertThat(got.length).isEqualTo((int) SIZE);
            assertThat(Arrays.equals(got, expected())).as("target image byte for byte").isTrue();
            long actual = nodes.volumes.info(copy).actualSize();
            System.out.printf("disk test %s: target %s actual size %d of %d virtual; %s%n", format, copy, actual, SIZE,
                    r.downtimeMs() + " ms downtime");
            if (format.equals("qcow2")) {
                assertThat(actual).as("qcow2 copy stays sparse").isLessThan(SIZE / 2);
            }
        }
    }

    @Test
    void cancelDuringTheMirrorLeavesTheSourceUntouchedAndNothingOnTheTarget() throws Exception {
        faultDuringMirror(430, (nodes, cancel, link) -> cancel.cancel("cancelled by the test"),
                MigrationResult.Status.CANCELLED, true);
    }

    @Test
    void targetQemuKilledDuringTheMirrorLeavesTheSourceUntouchedAndNothingOnTheTarget() throws Exception {
        faultDuringMirror(431, (nodes, cancel, link) -> nodes.b.running(431).orElseThrow().kill(),
                MigrationResult.Status.FAILED, true);
    }

    @Test
    void nbdLinkCutDuringTheMirrorLeavesTheSourceUntouchedAndNothingOnTheTarget() throws Exception {
        faultDuringMirror(432, (nodes, cancel, link) -> link.cut(), MigrationResult.Status.FAILED, true);
    }

    /** The guest is gone with its QEMU (a crash); what the migration made on the target goes too. */
    @Test
    void sourceQemuKilledDuringTheMirrorLeavesNothingOnTheTarget() throws Exception {
        faultDuringMirror(433, (nodes, cancel, link) -> nodes.a.running(433).orElseThrow().kill(),
                MigrationResult.Status.FAILED, false);
    }

    /**
     * The orchestrator crashes at a disk step (an Error no cleanup catches, its QMP connections
     * dropped); a new one recovers the journal: before the hand-over everything is undone, after
     * it the hand-over is finished and the source's volume freed.
     */
    @ParameterizedTest
    @EnumSource(value = MigrationStep.class, names = {"MIRROR_DISK", "MIRROR_ACTIVE", "END_MIRRORS", "STOP_SOURCE"})
    void crashAtADiskStepIsRecovered(MigrationStep at) throws Exception {
        int vmid = 460;
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition vm = withDataDisk(nodes, vmid, "qcow2", "virtio");
            Path src = nodes.a.storages().get("local").volumePath(dataVolume(vmid, "qcow2"));
            Path dst = nodes.b.storages().get("other").volumePath(dataVolume(vmid, "qcow2"));
            nodes.a.start(vm).detach();
            Migration m = nodes.migrationFromA().onStep((task, step) -> {
                if (step == at) {
                    throw new CrashRecoveryTest.SimulatedCrash(step.wire());
                }
            });
            MigrationRequest req = new MigrationRequest(vmid, "b", true, false, 32, null, null)
                    .withDisks(new MigrationRequest.DiskOptions(true, "other", false));
            TaskLog runLog = new TaskLog();
            Throwable e = catchThrowable(() -> m.run(req, "task-crash", runLog, new CancelSignal()));
            assertThat(e).as(String.join("\n", runLog.lines())).isInstanceOf(CrashRecoveryTest.SimulatedCrash.class);
            nodes.a.disconnectAll();
            nodes.b.disconnectAll();

            TaskLog log = new TaskLog();
            MigrationResult r = nodes.migrationFromA().recover("task-crash", log, new CancelSignal());
            String text = String.join("\n", log.lines());
            System.out.println(text);
            var rec = nodes.store.vm(vmid).orElseThrow();
            assertThat(rec.lock()).isNull();
            assertThat(nodes.store.openJournals()).isEmpty();
            if (at == MigrationStep.STOP_SOURCE) {
                assertThat(r.status()).as(text).isEqualTo(MigrationResult.Status.COMPLETED);
                assertThat(rec.owner()).isEqualTo("b");
                assertThat(rec.config().path("disks").get(1).path("storage").asText()).isEqualTo("other");
                assertThat(nodes.a.status(vmid).state()).isEqualTo(LocalNode.State.STOPPED);
                assertThat(src).as("source volume freed once the target ran").doesNotExist();
                nodes.b.stop(vmid, Duration.ofSeconds(5));
                assertThat(Arrays.equals(asRaw(nodes, dst, "qcow2"), expectedBeforeBoot())).isTrue();
            } else {
                assertThat(r.status()).as(text).isEqualTo(MigrationResult.Status.FAILED);
                assertThat(rec.owner()).isEqualTo("a");
                assertThat(rec.config().path("disks").get(1).path("storage").asText()).isEqualTo("local");
                assertThat(nodes.a.status(vmid).state()).as(text).isEqualTo(LocalNode.State.RUNNING);
                noDiskLeftovers(nodes, vmid);
                assertThat(nodes.b.status(vmid).state()).isEqualTo(LocalNode.State.STOPPED);
                assertThat(dst).as("target volume freed").doesNotExist();
                assertThat(src).exists();
                nodes.a.stop(vmid, Duration.ofSeconds(5));
            }
        }
    }

    /** --force drops a local cdrom: ejected on the source, an empty drive on the target, the image stays. */
    @Test
    void forceDropsALocalCdrom() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            Path iso = startWithCdrom(nodes, 470, "scsi");
            MigrationResult r = nodes.migrationFromA().run(new MigrationRequest(470, "b", true, true, null, null, null),
                    "task-cd", new TaskLog(), new CancelSignal());
            String log = String.join("\n", r.log());
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(log).contains("drive-disk1: cdrom 'local:vm-470-cd.iso' ejected (--force)");
            var onB = nodes.b.running(470).orElseThrow();
            var cd = onB.qmp().execute(Commands.QUERY_BLOCK, null).get(1);
            assertThat(cd.path("device").asText()).isEqualTo("disk1");
            assertThat(cd.has("inserted")).as("empty drive on the target").isFalse();
            onB.detach();
            var rec = nodes.store.vm(470).orElseThrow().config().path("disks").get(1);
            assertThat(rec.has("volume")).isFalse();
            assertThat(rec.path("media").asText()).isEqualTo("cdrom");
            assertThat(iso).as("the image stays on node a").exists();
        }
    }

    /** A bootblock VM with a cdrom image on node a's local storage, started; returns the image. */
    private static Path startWithCdrom(TwoNodes nodes, int vmid, String bus) throws Exception {
        VmDefinition boot = nodes.bootblockVm(vmid, GUEST);
        String volume = "vm-" + vmid + "-cd.iso";
        Path iso = nodes.volumes.create(nodes.a.storages().get("local"), volume, "raw", 1 << 20);
        List<VmDefinition.Disk> disks = new ArrayList<>(boot.disks());
        disks.add(new VmDefinition.Disk("local", volume, "raw", bus, null, null, "cdrom"));
        nodes.store.delete(vmid, "a");
        nodes.a.start(nodes.define("a", new VmDefinition(vmid, boot.name(), boot.memoryMiB(), 1, "pc", "qemu64", null,
                disks, VmDefinition.Accel.TCG, null))).detach();
        return iso;
    }

    /** The source's cdrom holds its image again, read-only as before. */
    private static void assertCdromInserted(TwoNodes nodes, int vmid) {
        QemuProcess q = nodes.a.running(vmid).orElseThrow();
        var cd = q.qmp().execute(Commands.QUERY_BLOCK, null).get(1);
        assertThat(cd.at("/inserted/file").asText()).endsWith("vm-" + vmid + "-cd.iso");
        assertThat(cd.at("/inserted/ro").asBoolean()).isTrue();
        q.detach();
    }

    /** A crash after the eject: the recovery puts the medium back, as the migration's own cleanup would. */
    @Test
    void aRecoveryInsertsTheDroppedCdromAgain() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            startWithCdrom(nodes, 472, "ide");
            Migration m = nodes.migrationFromA().onStep((task, step) -> {
                if (step == MigrationStep.START_INCOMING) {
                    throw new CrashRecoveryTest.SimulatedCrash(step.wire());
                }
            });
            Throwable e = catchThrowable(() -> m.run(new MigrationRequest(472, "b", true, true, null, null, null),
                    "task-crash", new TaskLog(), new CancelSignal()));
            assertThat(e).isInstanceOf(CrashRecoveryTest.SimulatedCrash.class);
            nodes.a.disconnectAll();
            TaskLog log = new TaskLog();
            MigrationResult r = nodes.migrationFromA().recover("task-crash", log, new CancelSignal());
            assertThat(r.status()).as(String.join("\n", log.lines())).isEqualTo(MigrationResult.Status.FAILED);
            assertThat(String.join("\n", log.lines())).contains("drive-disk1: cdrom 'local:vm-472-cd.iso' inserted again");
            assertCdromInserted(nodes, 472);
        }
    }

    /** A migration that fails after the eject puts the medium back: the VM is as it was. */
    @Test
    void aFailedMigrationInsertsTheDroppedCdromAgain() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            startWithCdrom(nodes, 471, "ide");
            TargetNode refusing = new ForwardingTarget(new LocalTarget(nodes.b, nodes.volumes, "127.0.0.1")) {
                @Override
                public Endpoint startIncoming(VmDefinition v, java.util.Set<String> c,
                                              com.fasterxml.jackson.databind.node.ObjectNode p, String s, boolean t) {
                    throw new IllegalStateException("target QEMU failed to start (test)");
                }
            };
            MigrationResult r = new Migration(nodes.store, nodes.a, nodes.volumes, n -> refusing)
                    .run(new MigrationRequest(471, "b", true, true, null, null, null), "task-cd2", new TaskLog(),
                            new CancelSignal());
            String log = String.join("\n", r.log());
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.FAILED);
            assertThat(log).contains("cdrom 'local:vm-471-cd.iso' inserted again");
            assertCdromInserted(nodes, 471);
        }
    }

    static byte[] expectedBeforeBoot() {
        byte[] b = new byte[(int) SIZE];
        Arrays.fill(b, 0, (int) PATTERN_A, (byte) 0xa5);
        return b;
    }

    interface Fault {
        void inject(TwoNodes nodes, CancelSignal cancel, LinkRelay nbdLink);
    }

    /**
     * The mirror runs at 4 MiB/s over 64 MiB, through a relay that stands for the NBD link, so the
     * fault, 1.5 s after it started, lands mid-copy.
     */
    private void faultDuringMirror(int vmid, Fault fault, MigrationResult.Status expected, boolean sourceLives)
            throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir); Relayed relayed = new Relayed(nodes)) {
            VmDefinition vm = withDataDisk(nodes, vmid, "raw", "scsi");
            Path src = nodes.a.storages().get("local").volumePath(dataVolume(vmid, "raw"));
            byte[] before = Files.readAllBytes(src);
            nodes.a.start(vm).detach();
            CancelSignal cancel = new CancelSignal();
            Migration m = new Migration(nodes.store, nodes.a, nodes.volumes, n -> relayed)
                    .pollInterval(Duration.ofMillis(300)).onStep((task, step) -> {
                        if (step == MigrationStep.MIRROR_DISK) {
                            Thread.ofVirtual().start(() -> {
                                Sleep.quietly(1500);
                                fault.inject(nodes, cancel, relayed.link);
                            });
                        }
                    });
            MigrationRequest req = new MigrationRequest(vmid, "b", true, false, 4, null, null)
                    .withDisks(new MigrationRequest.DiskOptions(true, null, false));
            MigrationResult r = m.run(req, "task-fault-" + vmid, new TaskLog(), cancel);
            String log = String.join("\n", r.log());
            System.out.println(log);

            assertThat(r.status()).as(log).isEqualTo(expected);
            assertThat(log).contains("drive-disk1: mirror-job started").doesNotContain("all mirroring jobs are ready");
            if (sourceLives) {
                assertThat(nodes.a.status(vmid).state()).as("source still runs").isEqualTo(LocalNode.State.RUNNING);
                noDiskLeftovers(nodes, vmid);
            }
            assertNothingOnTheTarget(nodes, vmid);
            nodes.a.stop(vmid, Duration.ofSeconds(5));
            assertThat(Arrays.equals(Files.readAllBytes(src), before)).as("source volume unchanged").isTrue();
        }
    }

    /**
     * 64 MiB at 4 MiB/s cannot be mirrored within a 3 s time limit: the migration ends with the
     * reason, before any RAM moved, and leaves the source running with nothing on the target.
     */
    @Test
    void aMirrorNotReadyWithinTheTimeLimitEndsTheMigrationAndCleansUp() throws Exception {
        int vmid = 480;
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition vm = withDataDisk(nodes, vmid, "raw", "virtio");
            nodes.a.start(vm).detach();
            MigrationRequest req = new MigrationRequest(vmid, "b", true, false, 4, null, null,
                    new MigrationRequest.Limits(3, false, false, false, null))
                    .withDisks(new MigrationRequest.DiskOptions(true, null, false, "background"));
            MigrationResult r = nodes.migrationFromA().run(req, "task-deadline", new TaskLog(), new CancelSignal());
            String log = String.join("\n", r.log());
            System.out.println(log);

            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.FAILED);
            assertThat(log).contains("the disk mirrors were not ready within", "raise --max-duration or --bwlimit")
                    .doesNotContain("all mirroring jobs are ready");
            assertThat(nodes.a.status(vmid).state()).as("source still runs").isEqualTo(LocalNode.State.RUNNING);
            noDiskLeftovers(nodes, vmid);
            assertNothingOnTheTarget(nodes, vmid);
            nodes.a.stop(vmid, Duration.ofSeconds(5));
        }
    }

    /** A failed disk migration left nothing on node b, and the VM is node a's again: unlocked, its disk on 'local'. */
    private static void assertNothingOnTheTarget(TwoNodes nodes, int vmid) {
        assertThat(nodes.b.status(vmid).state()).as("no QEMU on the target").isEqualTo(LocalNode.State.STOPPED);
        assertThat(nodes.b.storages().get("local").volumePath(dataVolume(vmid, "raw"))).as("target volume freed")
                .doesNotExist();
        var rec = nodes.store.vm(vmid).orElseThrow();
        assertThat(rec.owner()).isEqualTo("a");
        assertThat(rec.lock()).isNull();
        assertThat(rec.config().path("disks").get(1).path("storage").asText()).isEqualTo("local");
        assertThat(nodes.store.openJournals()).isEmpty();
    }

    /** Node b as the target, with its NBD exports reached through a relay the test can cut. */
    static final class Relayed extends ForwardingTarget implements AutoCloseable {
        volatile LinkRelay link;

        Relayed(TwoNodes nodes) {
            super(new LocalTarget(nodes.b, nodes.volumes, "127.0.0.1"));
        }

        @Override
        public Endpoint exportDisks(int vmid, List<String> drives) {
            Endpoint nbd = real.exportDisks(vmid, drives);
            try {
                link = LinkRelay.start(nbd.host(), nbd.port());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return new Endpoint(link.host(), link.port(), nbd.capabilities());
        }

        @Override
        public void close() {
            if (link != null) {
                link.close();
            }
        }
    }

    /** Two local disks on two storages, each mapped to the other storage on the target. */
    @Test
    void twoDisksGoToTwoMappedStorages() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition one = withDataDisk(nodes, 490, "raw", "virtio");
            Path second = nodes.volumes.create(nodes.a.storages().get("other"), "vm-490-disk-2.qcow2", "qcow2", SIZE);
            run("qemu-io", "-f", "qcow2", "-c", "write -P 0xa5 0 " + PATTERN_A, second.toString());
            List<VmDefinition.Disk> disks = new ArrayList<>(one.disks());
            disks.add(new VmDefinition.Disk("other", "vm-490-disk-2.qcow2", "qcow2", "scsi"));
            nodes.store.delete(490, "a");
            VmDefinition vm = nodes.define("a", new VmDefinition(490, one.name(), one.memoryMiB(), 1, "pc", "qemu64",
                    null, disks, VmDefinition.Accel.TCG, null));
            nodes.a.start(vm).detach();
            MigrationRequest req = new MigrationRequest(490, "b", true, false, 64, null, null)
                    .withDisks(new MigrationRequest.DiskOptions(true, "local:other,other:local", false));
            MigrationResult r = nodes.migrationFromA().run(req, "task-two", new TaskLog(), new CancelSignal());
            String log = String.join("\n", r.log());
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(r.disks()).extracting(MigrationResult.Disk::name).containsExactly("drive-disk1", "drive-disk2");
            assertThat(log).contains("drive-disk1: mirror-job started (local:vm-490-disk-1.raw to node 'b', 32.0 MiB/s)",
                    "drive-disk2: mirror-job started (other:vm-490-disk-2.qcow2 to node 'b', 32.0 MiB/s)");
            var recDisks = nodes.store.vm(490).orElseThrow().config().path("disks");
            assertThat(recDisks.get(1).path("storage").asText()).isEqualTo("other");
            assertThat(recDisks.get(2).path("storage").asText()).isEqualTo("local");
            nodes.b.stop(490, Duration.ofSeconds(5));
            byte[] want = expectedBeforeBoot();
            assertThat(Arrays.equals(asRaw(nodes, nodes.b.storages().get("other").volumePath("vm-490-disk-1.raw"),
                    "raw"), want)).isTrue();
            assertThat(Arrays.equals(asRaw(nodes, nodes.b.storages().get("local").volumePath("vm-490-disk-2.qcow2"),
                    "qcow2"), want)).isTrue();
            assertThat(nodes.a.storages().get("local").volumePath("vm-490-disk-1.raw")).doesNotExist();
            assertThat(second).doesNotExist();
        }
    }

    static byte[] expected() {
        byte[] b = new byte[(int) SIZE];
        Arrays.fill(b, 0, (int) PATTERN_A, (byte) 0xa5);
        Arrays.fill(b, (int) B_OFFSET, (int) (B_OFFSET + PATTERN_B), (byte) 0x5a);
        return b;
    }

    /** A bootblock VM on shared storage with a data disk on node a's local storage holding pattern A. */
    static VmDefinition withDataDisk(TwoNodes nodes, int vmid, String format, String bus) throws Exception {
        VmDefinition boot = nodes.bootblockVm(vmid, GUEST);
        nodes.store.delete(vmid, "a");
        String volume = dataVolume(vmid, format);
        Path p = nodes.volumes.create(nodes.a.storages().get("local"), volume, format, SIZE);
        run("qemu-io", "-f", format, "-c", "write -P 0xa5 0 " + PATTERN_A, p.toString());
        List<VmDefinition.Disk> disks = new ArrayList<>(boot.disks());
        disks.add(new VmDefinition.Disk("local", volume, format, bus, "none", "native", null));
        return nodes.define("a", new VmDefinition(vmid, boot.name(), boot.memoryMiB(), 1, "pc", "qemu64", null, disks,
                VmDefinition.Accel.TCG, null));
    }

    static String dataVolume(int vmid, String format) {
        return "vm-" + vmid + "-disk-1." + format;
    }

    /** Writes through the VM's block layer as its guest would (HMP qemu-io on drive disk1). */
    static String qemuIo(LocalNode node, int vmid, String command) {
        QemuProcess q = node.running(vmid).orElseThrow();
        // human-monitor-command is not in Ferry's bound vocabulary: tests only
        var args = TwoNodes.JSON.createObjectNode().put("command-line", "qemu-io disk1 \"" + command + "\"");
        return q.qmp().execute("human-monitor-command", args).asText();
    }

    static byte[] asRaw(TwoNodes nodes, Path image, String format) throws Exception {
        if (format.equals("raw")) {
            return Files.readAllBytes(image);
        }
        Path raw = image.resolveSibling(image.getFileName() + ".check.raw");
        run("qemu-img", "convert", "-f", format, "-O", "raw", image.toString(), raw.toString());
        byte[] b = Files.readAllBytes(raw);
        Files.delete(raw);
        return b;
    }

    static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + out).isZero();
    }

    static void noDiskLeftovers(TwoNodes nodes, int vmid) {
        QemuProcess q = nodes.a.running(vmid).orElseThrow();
        assertThat(q.qmp().call(Commands.QUERY_BLOCK_JOBS)).as("no block job left on the source").isEmpty();
        assertThat(q.qmp().execute(Commands.QUERY_NAMED_BLOCK_NODES, null).findValuesAsText("node-name"))
                .as("no NBD client node left").noneMatch(n -> n.startsWith("nbd-"));
        q.detach();
    }
}
