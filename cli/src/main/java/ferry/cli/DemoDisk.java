package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.agent.AgentClient;
import ferry.agent.ClusterLayout;
import ferry.node.QemuBinary;
import ferry.node.VmDefinition;
import ferry.node.Volumes;
import ferry.testkit.BlockWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The demo guest's local data disk: a raw volume on node a's {@code local} storage that the
 * linux-stress guest's block writer fills throughout; after the migration the disk oracle checks
 * the copy on the target with the guest stopped there.
 *
 * <p>Raw, 64 MiB: the oracle reads a raw image as it is (a qcow2 would need converting first), and
 * a sparse raw volume mirrors quickly (its holes go over NBD as zero-writes, not as data), so the
 * demo stays about as quick as before (a few seconds more). The writer goes round the first 2 MiB at
 * 1 MiB/s: it wraps every 2 s, several times during a demo, so the oracle's "one step of
 * generations" has a step to check, and it stays far below what even the shaped --hosts link carries.
 */
record DemoDisk(int vmid, String volume) {
    static final long SIZE = 64L << 20;
    static final int BLOCKS = 512;
    static final int RATE_KIB = 1024;
    private static final String STORAGE = "local";

    /** What the oracle found on the target's copy, with the writer's last acknowledged write and the disk's newest. */
    record Verdict(String integrity, long lastAck, long newest) {
        boolean ok() {
            return integrity.equals("ok");
        }
    }

    /** For the demo's guest line. */
    static String describe() {
        return "its block writer rewrites " + BLOCKS * BlockWriter.BLOCK / 1048576 + " MiB of a " + SIZE / 1048576
                + " MiB raw disk on node a's local storage at " + RATE_KIB + " KiB/s with O_DIRECT|O_SYNC";
    }

    /** Creates the (sparse) volume on node a's local storage. */
    static DemoDisk create(ClusterLayout layout, int vmid) {
        DemoDisk d = new DemoDisk(vmid, "vm-" + vmid + "-disk-0.raw");
        new Volumes(QemuBinary.find().qemuImg()).create(layout.storages("a").get(STORAGE), d.volume, "raw", SIZE);
        return d;
    }

    /** The guest with this disk as its first virtio disk (/dev/vda) and its block writer on. */
    VmDefinition attachTo(VmDefinition guest) {
        return BlockWriter.withDisk(guest, new VmDefinition.Disk(STORAGE, volume, "raw", "virtio", "none", "native", null),
                BLOCKS, RATE_KIB);
    }

    /** Waits for the writer's first acknowledged write (it starts after the guest has loaded its disk modules). */
    static long awaitFirstAck(Path serial) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            long ack = BlockWriter.lastAck(DemoCommand.read(serial));
            if (ack >= 0) {
                return ack;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the guest's block writer acknowledged no write within 60 s: "
                + DemoCommand.read(serial));
    }

    /**
     * After a completed migration to {@code node}: waits until the writer acknowledges writes there
     * beyond {@code lastAckOnSource}, pauses the guest, notes its last acknowledged write, stops it
     * (the volume is then complete: QEMU wrote it with O_DIRECT) and runs the oracle on the volume
     * the VM's record now names on that node.
     */
    Verdict checkOn(String node, AgentClient agent, ClusterLayout layout, long lastAckOnSource)
            throws InterruptedException, IOException {
        Path serial = layout.runRoot(node).resolve(Integer.toString(vmid)).resolve("serial.log");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (BlockWriter.lastAck(DemoCommand.read(serial)) <= lastAckOnSource && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        agent.post("/api/v1/vms/" + vmid + "/pause", null);
        long lastAck = BlockWriter.lastAck(DemoCommand.read(serial));
        agent.post("/api/v1/vms/" + vmid + "/stop", null);
        if (lastAck <= lastAckOnSource) {
            return new Verdict("the block writer acknowledged no write on node " + node + " (last on the source: "
                    + lastAckOnSource + ")", lastAck, -1);
        }
        JsonNode disk = agent.get("/api/v1/vms/" + vmid).path("config").path("disks").path(0);
        Path image = layout.storages(node).get(disk.path("storage").asText()).volumePath(disk.path("volume").asText());
        byte[] written;
        try (InputStream in = Files.newInputStream(image)) {
            written = in.readNBytes(BLOCKS * BlockWriter.BLOCK); // the writer touches no more than this
        }
        BlockWriter.Result r = BlockWriter.check(written, BLOCKS, lastAck);
        return new Verdict(r.ok() ? "ok" : r.message(), lastAck, r.newest());
    }
}
