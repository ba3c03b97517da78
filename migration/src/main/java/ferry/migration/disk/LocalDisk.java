package ferry.migration.disk;

import ferry.node.VmCommandLine;
import ferry.node.VmDefinition;

/**
 * A local volume of a running VM that a live migration mirrors to the target: where it is, where
 * it goes, and its sizes as {@code qemu-img} reported them in prepare.
 *
 * @param index         the disk's position in the definition: QEMU's drive {@code disk<index>} on both nodes
 * @param target        the same disk on the target's storage
 * @param allocatedSize bytes the source file takes on its filesystem
 */
public record LocalDisk(int index, VmDefinition.Disk source, VmDefinition.Disk target, long virtualSize, long allocatedSize) {
    /** What a qcow2 copy may grow by while the guest writes during the mirror, at least. */
    static final long QCOW2_HEADROOM_MIN = 64L << 20;

    /** The drive id on both QEMUs, and the name of its NBD export on the target. */
    public String drive() {
        return VmCommandLine.driveId(index);
    }

    /** The format node the mirror copies from (source) and the export serves (target). */
    String node() {
        return VmCommandLine.nodeName(index);
    }

    /** The source's NBD client node that writes to the target's export. */
    String nbdNode() {
        return "nbd-" + drive();
    }

    /** The mirror job's id on the source. */
    String job() {
        return "mirror-" + drive();
    }

    /** As the seed names it in its log: {@code drive-disk0}. */
    public String label() {
        return "drive-" + drive();
    }

    public String volumeName() {
        return source.storage() + ":" + source.volume();
    }

    /**
     * Bytes the target storage must have free for it. A raw copy may end fully allocated (a mirror
     * writes every block the source reads as data), so its virtual size counts; a qcow2 copy stays
     * sparse, so what the source has allocated counts, plus headroom for what the guest writes
     * meanwhile (10%, at least 64 MiB), never more than the virtual size plus 1% of metadata.
     */
    public long bytesNeeded() {
        if (!"qcow2".equals(source.formatOrRaw())) {
            return virtualSize;
        }
        long headroom = Math.max(allocatedSize / 10, QCOW2_HEADROOM_MIN);
        return Math.min(allocatedSize + headroom, virtualSize + virtualSize / 100);
    }
}
