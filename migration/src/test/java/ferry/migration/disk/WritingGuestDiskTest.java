package ferry.migration.disk;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.migration.CancelSignal;
import ferry.migration.MigrationRequest;
import ferry.migration.MigrationResult;
import ferry.migration.Plan;
import ferry.migration.TaskLog;
import ferry.migration.TwoNodes;
import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.protocol.Commands;
import ferry.testkit.BlockWriter;
import ferry.testkit.LinuxStressGuest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disk oracle (real QEMU, real Linux guest): the linux-stress guest writes self-checking
 * blocks to its local virtio disk with O_DIRECT|O_SYNC throughout a live migration with
 * --with-local-disks; with the guest stopped on the target, every block is intact, the
 * generations form one step, and the last write acknowledged to the guest is on the target's disk.
 */
class WritingGuestDiskTest {
    static final int BLOCKS = 2048; // 8 MiB written round and round
    static final int RATE_KIB = 2048;
    static final long DISK = 32L << 20;

    @TempDir
    Path dir;

    @Test
    void aGuestWritingThroughoutLosesNoWrite() throws Exception {
        MigrationResult r = migrateWhileWriting(480, RATE_KIB, measured -> 32, false);
        assertThat(r.disks()).singleElement().extracting(MigrationResult.Disk::mode)
                .isEqualTo("background, then write-blocking");
    }

    /**
     * The guest writes faster than the mirror's share of the link: a background mirror would never
     * catch up, so it starts write-blocking and the guest's writes go at the link's pace. Under
     * TCG the guest's write rate follows the host's load (measured here: 2.5-6 MiB/s for 6 MiB/s
     * asked), so the link is set from the rate it reaches now: 1.25 times below it, at most 4 MiB/s.
     */
    @Test
    void aGuestWritingFasterThanTheLinkStillMoves() throws Exception {
        // on a loaded host the link follows the guest's writes down to 1 MiB/s, below the 2 MiB/s its
        // RAM is dirtied at: pre-copy alone never ended (seen once), and once (CI, stop 24) neither did
        // a 90% throttle (1.3 MiB/s left), so budget gave up after 6 min. The disks are what this
        // test checks: the RAM may finish paused.
        MigrationResult r = migrateWhileWriting(481, 6144,
                measured -> (int) Math.max(1, Math.min(4, Math.floor(measured / 1.25 / 1048576))), true);
        assertThat(String.join("\n", r.log())).contains("a background mirror would never catch up; write-blocking "
                + "from the start");
        assertThat(r.disks()).singleElement().extracting(MigrationResult.Disk::mode).isEqualTo("write-blocking");
    }

    /**
     * @param link       the bandwidth limit (MiB/s) for the guest's write rate measured here (bytes/s)
     * @param allowPause whether the RAM may finish with the guest paused (throttling is always allowed)
     */
    private MigrationResult migrateWhileWriting(int vmid, int rateKiB, java.util.function.DoubleToIntFunction link,
                                                boolean allowPause) throws Exception {
        String why = LinuxStressGuest.unavailableReason();
        if (why != null) {
            System.out.println("skipped: " + why);
        }
        Assumptions.assumeTrue(why == null, why);
        try (TwoNodes nodes = new TwoNodes(dir)) {
            String volume = "vm-" + vmid + "-disk-0.raw";
            nodes.volumes.create(nodes.a.storages().get("local"), volume, "raw", DISK);
            VmDefinition vm = nodes.define("a", BlockWriter.withDisk(new LinuxStressGuest(128, 16, 2).definition(vmid),
                    new VmDefinition.Disk("local", volume, "raw", "virtio", "none", "native", null), BLOCKS, rateKiB));
            QemuProcess src = nodes.a.start(vm);
            String before = awaitAcks(src, 10, Duration.ofSeconds(90));
            DiskWrites w0 = DiskWrites.read(src.qmp());
            Thread.sleep(3000);
            double measured = DiskWrites.read(src.qmp()).ratesSince(w0).values().stream()
                    .mapToDouble(Double::doubleValue).sum();
            int bwlimitMiB = link.applyAsInt(measured);
            System.out.printf("the guest writes %.1f MiB/s here (%d KiB/s asked); link %d MiB/s%n", measured / 1048576,
                    rateKiB, bwlimitMiB);
            src.detach();

            MigrationRequest req = new MigrationRequest(vmid, "b", true, false, bwlimitMiB, null, null,
                    new MigrationRequest.Limits(null, true, false, allowPause, null), null)
                    .withDisks(new MigrationRequest.DiskOptions(true, null, false));
            // the planner sees the same: the guest's write rate and how the mirror will start
            Plan plan = nodes.migrationFromA().plan(req, Duration.ofSeconds(2));
            Plan.DiskPrediction p = plan.disks().get(0);
            System.out.printf("plan: %s%n", p);
            // QEMU's counters, read by the plan and by this test a moment before, agree
            assertThat(p.writeBytesPerS()).as(p.toString()).isBetween(measured * 0.5, measured * 2);
            assertThat(p.mode()).isEqualTo(p.writeBytesPerS() >= bwlimitMiB * 1048576L * MirrorStart.CATCH_UP_SHARE
                    ? "write-blocking" : "background");
            // the RAM is predicted after the mirror, in the time it leaves; QEMU holds the RAM to the limit
            assertThat(plan.inputs().disks().mirrorSeconds()).isEqualTo(p.seconds());
            assertThat(plan.inputs().ramTimeMs()).isEqualTo(plan.inputs().maxDurationMs() - (long) (p.seconds() * 1000));
            assertThat(plan.inputs().ramLinkBytesPerS()).isEqualTo(bwlimitMiB * 1048576.0);
            MigrationResult r = nodes.migrationFromA().run(req, "task-writer", new TaskLog(), new CancelSignal());
            String log = String.join("\n", r.log());
            System.out.println(log);
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(log).contains("planner: disks first,");
            assertThat(nodes.b.status(vmid).state()).isEqualTo(LocalNode.State.RUNNING);

            QemuProcess dst = nodes.b.running(vmid).orElseThrow();
            String after = awaitAcks(dst, 5, Duration.ofSeconds(30)); // the writer goes on, on node b
            dst.qmp().call(Commands.STOP);
            after = Files.readString(dst.serialLog(), StandardCharsets.ISO_8859_1);
            long lastAck = BlockWriter.lastAck(after);
            dst.detach();
            nodes.b.stop(vmid, Duration.ofSeconds(5));

            byte[] image = Files.readAllBytes(nodes.b.storages().get("local").volumePath(volume));
            BlockWriter.Result oracle = BlockWriter.check(image, BLOCKS, lastAck);
            System.out.printf("disk oracle: %s; acks on a before the migration %d, on b %d; mirror %s; downtime %d ms; "
                    + "paused to finish %d ms%n", oracle.message(), BlockWriter.acks(before), BlockWriter.acks(after),
                    r.disks(), r.downtimeMs(), r.pausedByFerryMs());
            assertThat(oracle.ok()).as(oracle.message()).isTrue();
            assertThat(lastAck).as("writes acknowledged on b").isGreaterThan(BlockWriter.lastAck(before));
            return r;
        }
    }

    /** Waits until the console shows at least {@code n} acks; returns the console text. */
    private static String awaitAcks(QemuProcess q, int n, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String serial = Files.readString(q.serialLog(), StandardCharsets.ISO_8859_1);
            assertThat(serial).as("guest console").doesNotContain("FERRY-ERROR");
            if (BlockWriter.acks(serial) >= n) {
                return serial;
            }
            assertThat(System.nanoTime()).as("block writer acks on the console:\n" + serial).isLessThan(deadline);
            Thread.sleep(200);
        }
    }
}
