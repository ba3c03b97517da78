package ferry.migration;

import java.util.List;

/**
 * What the user asked for. Null limits mean the VM's own setting, else the policy's default.
 *
 * @param downtimeMs for {@code classic} the first downtime limit (then doubled), for
 *                   {@code qemu-default} QEMU's downtime limit, for {@code budget} the most
 *                   downtime the guest may see
 * @param limits     the budget and what disruption is acceptable; null means the defaults
 * @param tuning     how the stream is carried (multifd, compression, xbzrle, ...); null means none
 * @param disks      what may happen to the VM's disks; null means {@link DiskOptions#NONE}
 * @param noTls      the streams (RAM, NBD) go in plain TCP although the cluster has certificates:
 *                   only to measure what TLS costs
 */
public record MigrationRequest(int vmid, String target, boolean online, boolean force, Integer bwlimitMiBps,
                               Integer downtimeMs, String policy, Limits limits, Tuning tuning, DiskOptions disks,
                               boolean noTls) {
    /** The policy used when none is named. */
    public static final String DEFAULT_POLICY = "budget";

    /**
     * How long a migration may take and what it may do to the guest to finish in time.
     *
     * @param maxDurationS  seconds until pre-copy must have converged; null scales with RAM
     * @param recoverWaitS  seconds a broken postcopy link is awaited before giving up; null = 300
     */
    public record Limits(Integer maxDurationS, boolean allowThrottle, boolean allowPostcopy, boolean allowPause,
                         Integer recoverWaitS) {
        public static final Limits DEFAULTS = new Limits(null, false, false, false, null);
    }

    /**
     * What a migration may do with the VM's disks.
     *
     * @param withLocalDisks a running VM's local volumes are mirrored to the target (NBD + blockdev-mirror)
     * @param targetStorage  where local volumes go: one storage id, or {@code src:dst[,src:dst...]}; null
     *                       means the storage of the same id on the target
     * @param unsafe         migrate live although a disk on shared storage runs with a host cache mode
     * @param mirrorMode     how the mirrors start: {@code auto} (Ferry measures and chooses), {@code background}
     *                       (then write-blocking once ready) or {@code write-blocking}; null means auto
     */
    public record DiskOptions(boolean withLocalDisks, String targetStorage, boolean unsafe, String mirrorMode) {
        public static final DiskOptions NONE = new DiskOptions(false, null, false);
        public static final List<String> MIRROR_MODES = List.of("auto", "background", "write-blocking");

        public DiskOptions {
            mirrorMode = mirrorMode == null ? "auto" : mirrorMode;
        }

        public DiskOptions(boolean withLocalDisks, String targetStorage, boolean unsafe) {
            this(withLocalDisks, targetStorage, unsafe, null);
        }
    }

    public MigrationRequest(int vmid, String target, boolean online, boolean force, Integer bwlimitMiBps,
                            Integer downtimeMs, String policy, Limits limits, Tuning tuning, DiskOptions disks) {
        this(vmid, target, online, force, bwlimitMiBps, downtimeMs, policy, limits, tuning, disks, false);
    }

    public MigrationRequest {
        limits = limits == null ? Limits.DEFAULTS : limits;
        tuning = tuning == null ? Tuning.NONE : tuning;
        disks = disks == null ? DiskOptions.NONE : disks;
    }

    public MigrationRequest(int vmid, String target, boolean online, boolean force, Integer bwlimitMiBps,
                            Integer downtimeMs, String policy, Limits limits, Tuning tuning) {
        this(vmid, target, online, force, bwlimitMiBps, downtimeMs, policy, limits, tuning, null);
    }

    /** The same request with the policy settled. */
    public MigrationRequest withPolicy(String p) {
        return new MigrationRequest(vmid, target, online, force, bwlimitMiBps, downtimeMs, p, limits, tuning, disks, noTls);
    }

    /** The same request with other disk options. */
    public MigrationRequest withDisks(DiskOptions d) {
        return new MigrationRequest(vmid, target, online, force, bwlimitMiBps, downtimeMs, policy, limits, tuning, d, noTls);
    }

    /** The same request with its streams in plain TCP (measurement only). */
    public MigrationRequest withoutTls() {
        return new MigrationRequest(vmid, target, online, force, bwlimitMiBps, downtimeMs, policy, limits, tuning, disks,
                true);
    }

    public MigrationRequest(int vmid, String target, boolean online, boolean force, Integer bwlimitMiBps,
                            Integer downtimeMs, String policy) {
        this(vmid, target, online, force, bwlimitMiBps, downtimeMs, policy, null, null);
    }

    public MigrationRequest(int vmid, String target, boolean online, boolean force, Integer bwlimitMiBps,
                            Integer downtimeMs, String policy, Limits limits) {
        this(vmid, target, online, force, bwlimitMiBps, downtimeMs, policy, limits, null);
    }
}
