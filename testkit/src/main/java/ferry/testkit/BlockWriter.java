package ferry.testkit;

import ferry.node.VmDefinition;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The linux-stress guest's block writer (diskwriter.c) and its oracle. With
 * {@code ferry.disk=BLOCKS:KIB} on the kernel command line the guest writes self-checking 4 KiB
 * blocks round and round over the first BLOCKS blocks of /dev/vda (its first virtio disk) at KIB
 * KiB/s with O_DIRECT|O_SYNC, and prints the last acknowledged write's sequence number
 * ({@code FERRY-DISK-ACK <seq>}) every 100 ms.
 *
 * <p>The oracle reads the disk image with the guest stopped: every written block is intact (magic,
 * its own index, checksum, payload: none torn), the generations form one step (blocks before the
 * newest one are of its pass, blocks after it of the pass before: none lost or stale), and the last
 * acknowledged write is there.
 */
public final class BlockWriter {
    public static final int BLOCK = 4096;
    public static final String READY = "FERRY-DISK-READY";
    public static final String ACK = "FERRY-DISK-ACK";
    private static final long MAGIC = 0x4B4C425952524546L; // "FERRYBLK"
    private static final Pattern ACK_LINE = Pattern.compile(ACK + " (\\d+)");

    private BlockWriter() {}

    /** What the oracle found. */
    public record Result(boolean ok, String message, long newest, long generation, long written) {}

    /** The linux-stress VM with a first virtio disk that the writer fills. */
    public static VmDefinition withDisk(VmDefinition guest, VmDefinition.Disk disk, int blocks, int rateKiB) {
        if (!"virtio".equals(disk.bus())) {
            throw new IllegalArgumentException("the block writer writes /dev/vda: the disk must be on bus virtio");
        }
        VmDefinition.Boot b = guest.boot();
        List<VmDefinition.Disk> disks = new ArrayList<>(guest.disks());
        disks.add(0, disk);
        return new VmDefinition(guest.vmid(), guest.name(), guest.memoryMiB(), guest.vcpus(), guest.machine(),
                guest.cpu(), new VmDefinition.Boot(b.kernel(), b.initrd(), b.append() + " ferry.disk=" + blocks + ":"
                + rateKiB), disks, guest.accel(), guest.migration());
    }

    /** The last acknowledged sequence number a console log shows; -1 if none. */
    public static long lastAck(String serial) {
        Matcher m = ACK_LINE.matcher(serial);
        long last = -1;
        while (m.find()) {
            last = Long.parseLong(m.group(1));
        }
        return last;
    }

    /** How many acks a console log shows (the writer's liveness on that node). */
    public static int acks(String serial) {
        Matcher m = ACK_LINE.matcher(serial);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    /** Checks {@code image} (the disk as raw bytes) against what a writer over {@code blocks} blocks can leave. */
    public static Result check(byte[] image, int blocks, long lastAck) {
        if (image.length < (long) blocks * BLOCK) {
            return new Result(false, "image of " + image.length + " bytes is smaller than " + blocks + " blocks", -1, 0, 0);
        }
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        long[] seq = new long[blocks]; // -1: never written
        long newest = -1;
        long written = 0;
        for (int i = 0; i < blocks; i++) {
            int at = i * BLOCK;
            String bad = problem(b, at, i, blocks);
            if (bad == null) {
                seq[i] = -1;
                continue;
            }
            if (!bad.isEmpty()) {
                return new Result(false, "block " + i + ": " + bad, -1, 0, written);
            }
            seq[i] = b.getLong(at + 24);
            newest = Math.max(newest, seq[i]);
            written++;
        }
        if (newest < 0) {
            return new Result(lastAck < 0, lastAck < 0 ? "nothing written" : "no block written, but write " + lastAck
                    + " was acknowledged", -1, 0, 0);
        }
        long gen = newest / blocks + 1;
        int k = (int) (newest % blocks);
        for (int i = 0; i < blocks; i++) {
            long want = i <= k ? (gen - 1) * blocks + i : gen == 1 ? -1 : (gen - 2) * blocks + i;
            if (seq[i] != want) {
                return new Result(false, "block " + i + " holds write " + seq[i] + ", expected " + want + " (newest "
                        + newest + "): a lost or stale write", newest, gen, written);
            }
        }
        if (lastAck > newest) {
            return new Result(false, "write " + lastAck + " was acknowledged to the guest but the disk's newest is "
                    + newest, newest, gen, written);
        }
        return new Result(true, "ok: " + written + " blocks intact, generation " + gen + " up to block " + k
                + ", newest write " + newest + ", last acknowledged " + lastAck, newest, gen, written);
    }

    /** null: an all-zero block (never written); "": a valid block; else what is wrong with it. */
    private static String problem(ByteBuffer b, int at, int index, int blocks) {
        boolean zero = true;
        for (int w = 0; w < BLOCK / 8 && zero; w++) {
            zero = b.getLong(at + w * 8) == 0;
        }
        if (zero) {
            return null;
        }
        if (b.getLong(at) != MAGIC) {
            return "no magic (torn or foreign data)";
        }
        if (b.getLong(at + 8) != index) {
            return "carries index " + b.getLong(at + 8);
        }
        long gen = b.getLong(at + 16);
        long seq = b.getLong(at + 24);
        if (gen < 1 || seq != (gen - 1) * blocks + index) {
            return "generation " + gen + " and write " + seq + " do not match";
        }
        for (int w = 4; w < BLOCK / 8 - 1; w++) {
            if (b.getLong(at + w * 8) != seq * 0x9E3779B97F4A7C15L + w) {
                return "payload word " + w + " is wrong (torn write)";
            }
        }
        if (b.getLong(at + BLOCK - 8) != fnv(b, at, BLOCK - 8)) {
            return "checksum mismatch";
        }
        return "";
    }

    private static long fnv(ByteBuffer b, int at, int len) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < len; i++) {
            h ^= b.get(at + i) & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }
}
