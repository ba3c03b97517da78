package ferry.migration.qemu;

import ferry.migration.phase.Phase2;
import ferry.node.QemuProcess;
import ferry.protocol.Commands;
import ferry.protocol.VersionTriple;

/**
 * A source QEMU older than 9.0 that runs its guest under TCG loses some of the guest's writes in a
 * live migration. When it syncs the dirty bitmap of a large, aligned RAM block (a guest's main
 * memory always is one) it clears the bits without re-arming TCG's TLB entries for those pages,
 * so the guest's later stores through those entries are never marked dirty and the target keeps
 * an older copy of the page. QEMU 9.0 fixed it (commit 03bfc2188f06, "physmem: Fix migration
 * dirty bitmap coherency with TCG memory access"); QEMU 7.2's stable releases (Debian bookworm's
 * 7.2.22 too) do not have it. KVM guests are not affected: KVM tracks dirty pages itself.
 *
 * <p>Measured with the linux-stress guest (no disk, 20-40 MiB/s dirtied, memory of both ends
 * compared page by page at the hand-over): 7.2 -> 7.2 lost 3-31 pages in 5 of 10 runs and the
 * guest kernel oopsed in the APIC timer's hrtimer code after 4 of them; 10.0 -> 10.0 lost none.
 * A guest that is paused for the whole stream writes nothing, so nothing can be lost: that is what
 * {@link Phase2} does for an affected source.
 */
public final class TcgDirtyTracking {
    /** The first QEMU release with the fix. */
    public static final int FIXED_IN_MAJOR = 9;

    private TcgDirtyTracking() {}

    /** Whether a source QEMU of this major version, with or without KVM, loses TCG guest writes. */
    static boolean losesWrites(long major, boolean kvm) {
        return !kvm && major < FIXED_IN_MAJOR;
    }

    /**
     * Why a live stream from this running QEMU would lose guest writes, for the task log; null when
     * it would not. Asks the QEMU itself (its version and whether it runs KVM), not the node's config.
     */
    public static String problem(QemuProcess src, String node) {
        VersionTriple v = src.qmp().call(Commands.QUERY_VERSION).qemu();
        boolean kvm = src.qmp().call(Commands.QUERY_KVM).enabled();
        if (!losesWrites(v.major(), kvm)) {
            return null;
        }
        return "QEMU " + v.major() + "." + v.minor() + "." + v.micro() + " on node '" + node + "' runs this guest "
                + "under TCG and loses some of its writes in a live migration (it re-arms no TCG TLB entry when it "
                + "syncs the dirty bitmap; fixed in QEMU 9.0 by commit 03bfc2188f06): the guest is paused for the "
                + "whole stream, so every page goes over as it is, and the downtime is the whole transfer. To "
                + "migrate it live, restart it on a node with QEMU 9.0 or newer, or under KVM";
    }
}
