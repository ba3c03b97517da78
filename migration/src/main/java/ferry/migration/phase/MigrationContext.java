package ferry.migration.phase;

import ferry.cluster.ClusterStore;
import ferry.migration.MigrationRequest;
import ferry.migration.NodeTls;
import ferry.migration.Plan;
import ferry.migration.TargetNode;
import ferry.migration.TaskLog;
import ferry.migration.disk.LocalDisk;
import ferry.migration.disk.MirrorStart;
import ferry.migration.plan.GuestProbe;
import ferry.migration.plan.WorkingSet;
import ferry.migration.policy.BudgetPolicy;
import ferry.migration.policy.PeerPlans;
import ferry.migration.policy.Policies;
import ferry.migration.qemu.QemuFeatures;
import ferry.migration.recovery.Journal;
import ferry.node.LocalNode;
import ferry.node.VmDefinition;
import ferry.node.Volumes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What every phase of one migration shares, settled by {@link Prepare} and never changed after:
 * the request (its policy resolved), the VM, both nodes, the journal and the task's log.
 *
 * @param online   the VM runs (or is paused) on the source: phase 2 moves it live
 * @param features   what the source QEMU offers; null for an offline migration
 * @param targetFeatures what the target's QEMU offers (asked of it in prepare); null for an offline migration
 * @param localDisks the local volumes a live migration mirrors (empty without {@code --with-local-disks})
 * @param dropped    the drive indexes of local cdroms that {@code --force} drops: ejected before the target starts
 * @param tls        this node's credentials when the streams go over TLS; null for plain TCP
 */
public record MigrationContext(ClusterStore store, LocalNode local, Volumes volumes, MigrationRequest req, String taskId,
                               TaskLog log, VmDefinition vm, TargetNode target, boolean online, QemuFeatures features,
                               QemuFeatures targetFeatures, Journal journal, long startedNanos, List<LocalDisk> localDisks,
                               List<Integer> dropped, NodeTls tls) {

    /** The VM as the target runs it: each mirrored disk on its target storage, each dropped cdrom empty. */
    VmDefinition targetVm() {
        if (localDisks.isEmpty() && dropped.isEmpty()) {
            return vm;
        }
        List<VmDefinition.Disk> disks = new ArrayList<>(vm.disks());
        localDisks.forEach(d -> disks.set(d.index(), d.target()));
        dropped.forEach(i -> disks.set(i, vm.disks().get(i).ejected()));
        return new VmDefinition(vm.vmid(), vm.name(), vm.memoryMiB(), vm.vcpus(), vm.machine(), vm.cpu(), vm.boot(),
                disks, vm.accel(), vm.migration());
    }

    public int vmid() {
        return req.vmid();
    }

    /** The source: this node. */
    public String here() {
        return local.name();
    }

    public String targetName() {
        return req.target();
    }

    public long elapsedMs() {
        return (System.nanoTime() - startedNanos) / 1_000_000;
    }

    /** The bandwidth limit asked for (request, else the VM's), MiB/s; null when none is set. */
    public Integer bwlimitMiBps() {
        return req.bwlimitMiBps() != null ? req.bwlimitMiBps() : vm.migration() == null ? null
                : vm.migration().speedMiBps();
    }

    /** The downtime asked for (request, else the VM's); null leaves it to the policy. */
    Integer downtimeMs() {
        return req.downtimeMs() != null ? req.downtimeMs() : vm.migration() == null ? null
                : vm.migration().downtimeMs();
    }

    /**
     * The time limit: the request's, else the policy's default for the RAM plus, for a live
     * migration with local disks, twice the time one copy of them takes at the link's pace.
     */
    long maxDurationMs(long linkBytesPerS) {
        if (req.limits().maxDurationS() != null) {
            return req.limits().maxDurationS() * 1000L;
        }
        long disks = online ? localDisks.stream().mapToLong(LocalDisk::virtualSize).sum() : 0;
        return Policies.defaultMaxDurationMs(vm.memoryMiB(), linkBytesPerS)
                + 2 * disks * 1000 / Math.max(1, linkBytesPerS);
    }

    /**
     * The plan from what was measured; the working set is taken as all non-zero RAM. With local
     * disks, {@code diskWrites} (bytes/s per drive) decide each mirror's mode and time, and the RAM
     * is predicted on what the mirrors leave of the time limit and, on a measured link
     * ({@code linkIsCapacity}), of the link.
     */
    public Plan plan(GuestProbe.Measured m, double link, String linkSource, boolean linkIsCapacity,
                     Map<String, Double> diskWrites) {
        long ram = (long) vm.memoryMiB() << 20;
        Integer downtime = downtimeMs();
        MigrationRequest.Limits l = req.limits();
        long limit = maxDurationMs((long) link);
        Plan.Inputs in = new Plan.Inputs(ram, m.zeroShare(), m.dirtyBytesPerS(), (long) (ram * (1 - m.zeroShare())),
                link, linkSource, downtime != null ? downtime : BudgetPolicy.DEFAULT_BUDGET_MS, limit,
                l.allowThrottle(), l.allowPostcopy(), l.allowPause());
        List<Plan.DiskPrediction> disks = online
                ? MirrorStart.predict(localDisks, diskWrites, link, req.disks().mirrorMode(), limit) : List.of();
        return PeerPlans.addTo(Plan.of(in, disks, linkIsCapacity), l.maxDurationS() != null).forRun(req.policy());
    }

    /** {@code p} on the rates the stream showed over its first pass, the peers' predictions included. */
    public Plan calibrated(Plan p, double streamLinkBytesPerS, double streamDirtyBytesPerS) {
        return PeerPlans.addTo(p.calibrated(streamLinkBytesPerS, streamDirtyBytesPerS),
                req.limits().maxDurationS() != null).forRun(req.policy());
    }

    /** {@code p} for the guest as a second, longer sample saw it; the working set stays all non-zero RAM if not found. */
    public Plan resampled(Plan p, WorkingSet w) {
        long ws = w.found() ? Math.min(w.workingSetBytes(), p.inputs().workingSetBytes()) : p.inputs().workingSetBytes();
        return PeerPlans.addTo(p.withGuest(w.dirtyBytesPerS(), ws), req.limits().maxDurationS() != null)
                .forRun(req.policy());
    }
}
