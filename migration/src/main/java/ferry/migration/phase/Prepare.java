package ferry.migration.phase;

import com.fasterxml.jackson.databind.ObjectMapper;
import ferry.cluster.ClusterStore;
import ferry.cluster.VmRecord;
import ferry.migration.MigrationRefused;
import ferry.migration.MigrationRequest;
import ferry.migration.NodeTls;
import ferry.migration.QemuOffer;
import ferry.migration.Sizes;
import ferry.migration.StepHook;
import ferry.migration.TargetNode;
import ferry.migration.TaskLog;
import ferry.migration.Tuning;
import ferry.migration.disk.DiskMirror;
import ferry.migration.disk.LocalDisk;
import ferry.migration.policy.Policies;
import ferry.migration.qemu.QemuFeatures;
import ferry.migration.qemu.QemuVersions;
import ferry.migration.recovery.Journal;
import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.node.Storage;
import ferry.node.VmDefinition;
import ferry.node.Volumes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The seed's prepare: everything that can be checked before acting. A refusal throws
 * {@link MigrationRefused} and changes nothing; success settles the {@link MigrationContext}.
 */
public final class Prepare {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ClusterStore store;
    private final LocalNode local;
    private final Volumes volumes;
    private final Function<String, TargetNode> targets;
    private java.util.function.Supplier<NodeTls> tls = () -> null;

    public Prepare(ClusterStore store, LocalNode local, Volumes volumes, Function<String, TargetNode> targets) {
        this.store = store;
        this.local = local;
        this.volumes = volumes;
        this.targets = targets;
    }

    /** This node's credentials for the streams; null: the cluster has none, streams go in plain TCP. */
    public void tls(java.util.function.Supplier<NodeTls> t) {
        this.tls = t;
    }

    public MigrationContext check(MigrationRequest req, String taskId, TaskLog log, StepHook hook) {
        String here = local.name();
        VmRecord rec = store.vm(req.vmid()).orElseThrow(() ->
                new MigrationRefused("VM " + req.vmid() + " does not exist in this cluster"));
        if (!rec.owner().equals(here)) {
            throw new MigrationRefused("VM " + req.vmid() + " is owned by node '" + rec.owner() + "', not by '" + here
                    + "'; run the migration on node '" + rec.owner() + "'");
        }
        if (rec.locked()) {
            throw new MigrationRefused("VM " + req.vmid() + " is locked (" + rec.lock() + ") on node '" + here
                    + "'; wait for that operation to end");
        }
        if (req.target().equals(here)) {
            throw new MigrationRefused("VM " + req.vmid() + " is already on node '" + here + "'; name another target");
        }
        if (store.config().node(req.target()).isEmpty()) {
            throw new MigrationRefused("unknown target node '" + req.target() + "'; the cluster's nodes are "
                    + String.join(", ", store.config().nodeNames()));
        }
        refuseMaintenance(req);
        VmDefinition vm;
        try {
            vm = VmDefinition.fromRecord(rec.config());
        } catch (Exception e) {
            throw new MigrationRefused("VM " + req.vmid() + " has an unreadable definition: " + e.getMessage());
        }
        MigrationRequest settled = req.withPolicy(policyOf(req, vm));
        checkTuning(settled, vm);
        LocalNode.Status st = local.status(req.vmid());
        boolean running = st.state() != LocalNode.State.STOPPED;
        if (running && !req.online()) {
            throw new MigrationRefused("VM " + req.vmid() + " is running on node '" + here
                    + "'; use --online to migrate it live, or stop it first");
        }
        if (!running && req.online()) {
            throw new MigrationRefused("VM " + req.vmid() + " is not running on node '" + here + "'; start it first, "
                    + "or migrate it without --online to move it stopped (its local volumes are copied)");
        }
        if (running && st.state() != LocalNode.State.RUNNING && st.state() != LocalNode.State.PAUSED) {
            throw new MigrationRefused("VM " + req.vmid() + " is in state '" + st.qemuStatus() + "' on node '" + here
                    + "'; only a running or paused VM migrates live");
        }
        QemuFeatures features = running ? checkSourceQemu(req.vmid(), settled.tuning()) : null;
        TargetNode target = targets.apply(req.target());
        TargetNode.Info info;
        try {
            info = target.probe();
        } catch (RuntimeException e) {
            throw new MigrationRefused("target node '" + req.target() + "' does not answer: " + e.getMessage());
        }
        if (running) {
            checkMemory(req, vm, info);
        }
        DiskPlan disks = checkStorages(settled, vm, running, info, target);
        QemuOffer theirs;
        try {
            theirs = target.qemuOffer();
        } catch (RuntimeException e) {
            throw new MigrationRefused("target node '" + req.target() + "' did not say what its QEMU offers: "
                    + e.getMessage());
        }
        QemuVersions.checkMachine(vm, running ? QemuFeatures.machineOf(local.running(req.vmid()).orElseThrow(() ->
                new MigrationRefused("VM " + req.vmid() + " stopped running on node '" + here + "'"))) : vm.machine(),
                running, here, local.qemu().version(), req.target(), theirs);
        QemuFeatures targetFeatures = running ? theirs.features(req.target()) : null;
        if (running && !disks.moved().isEmpty() && settled.disks().mirrorMode().equals("background")
                && !DiskMirror.canSwitchMode(local.running(req.vmid()).orElseThrow().qmp())) {
            throw new MigrationRefused("VM " + req.vmid() + ": QEMU " + local.qemu().version() + " on node '" + here
                    + "' lacks block-job-change (QEMU 8.2 and newer have it), so a background mirror could never turn "
                    + "write-blocking; use --mirror-mode write-blocking or auto");
        }
        if (running) {
            QemuVersions.checkBothEnds(settled, features, targetFeatures);
        }
        Journal journal = new Journal(store, taskId, req.vmid(), here, req.target(), 0, hook);
        return new MigrationContext(store, local, volumes, settled, taskId, log, vm, target, running, features,
                targetFeatures, journal,
                System.nanoTime(), disks.moved(), disks.dropped(), req.noTls() ? null : tls.get());
    }

    /** Read from the store now, not from the config this agent started with: maintenance is set while it runs. */
    private void refuseMaintenance(MigrationRequest req) {
        boolean maintenance = store.currentConfig().node(req.target()).map(ferry.cluster.NodeInfo::maintenance)
                .orElse(false);
        if (maintenance) {
            throw new MigrationRefused("target node '" + req.target() + "' is in maintenance: nothing may migrate to "
                    + "it; choose another node, or run 'ferry node resume " + req.target() + "' once its maintenance "
                    + "is over");
        }
    }

    /** What QEMU itself needs beside the guest's memory: its code, device state, the stream's buffers. */
    static final long QEMU_MEMORY_MARGIN = 128L << 20;

    /**
     * The VM will run on the target: its memory plus {@link #QEMU_MEMORY_MARGIN} must fit in what
     * the target can give VMs now. A target that does not report its memory is not checked.
     */
    private static void checkMemory(MigrationRequest req, VmDefinition vm, TargetNode.Info info) {
        if (info.memory() == null) {
            return;
        }
        long guest = (long) vm.memoryMiB() << 20;
        long needed = guest + QEMU_MEMORY_MARGIN;
        TargetNode.Memory m = info.memory();
        if (needed > m.forVms()) {
            throw new MigrationRefused("target node '" + req.target() + "' has " + Sizes.bytes(m.forVms())
                    + " of memory for VMs (available " + Sizes.bytes(m.availableBytes()) + ", its agent's reserve "
                    + Sizes.bytes(m.reservedBytes()) + "); VM " + req.vmid() + " needs " + Sizes.bytes(needed)
                    + " (its " + Sizes.bytes(guest) + " plus " + Sizes.bytes(QEMU_MEMORY_MARGIN) + " for QEMU itself); "
                    + "free memory there or choose another node");
        }
    }

    private static String policyOf(MigrationRequest req, VmDefinition vm) {
        String policy = req.policy() != null ? req.policy()
                : vm.migration() != null && vm.migration().policy() != null ? vm.migration().policy()
                : MigrationRequest.DEFAULT_POLICY;
        if (!Policies.NAMES.contains(policy)) {
            throw new MigrationRefused(Policies.unknown(policy));
        }
        return policy;
    }

    /** Tuning that contradicts itself, the policy, or the bandwidth limit is refused first. */
    private static void checkTuning(MigrationRequest req, VmDefinition vm) {
        Tuning tuning = req.tuning();
        List<String> wrong = new ArrayList<>(tuning.problems());
        if (wrong.isEmpty()) {
            wrong.addAll(tuning.conflicts(req.policy(), req.limits(), Policies.turnsOn(req.policy(), req.limits())));
        }
        if (!wrong.isEmpty()) {
            throw new MigrationRefused("VM " + req.vmid() + ": " + String.join("; ", wrong));
        }
        Integer bwlimit = req.bwlimitMiBps() != null ? req.bwlimitMiBps()
                : vm.migration() == null ? null : vm.migration().speedMiBps();
        String overshoot = tuning.multifdOvershoot(bwlimit);
        if (overshoot != null) {
            throw new MigrationRefused("VM " + req.vmid() + ": " + overshoot);
        }
    }

    /** Refuses tuning the source QEMU cannot do, asking that QEMU (not its version number). */
    private QemuFeatures checkSourceQemu(int vmid, Tuning tuning) {
        QemuProcess src = local.running(vmid).orElseThrow(() ->
                new MigrationRefused("VM " + vmid + " stopped running on node '" + local.name() + "'"));
        QemuFeatures features = QemuFeatures.of(src, local.name(), local.qemu().version(), tuning.compressed());
        List<String> lacks = features.lacks(tuning);
        if (!lacks.isEmpty()) {
            throw new MigrationRefused(String.join("; ", lacks) + "; drop those options or upgrade QEMU there");
        }
        if ("dirty-limit".equals(tuning.throttle())) {
            String why = QemuFeatures.dirtyLimitProblem(src);
            if (why != null) {
                throw new MigrationRefused("VM " + vmid + " on node '" + local.name()
                        + "' cannot be throttled with dirty-limit: " + why + "; use --throttle auto-converge");
            }
        }
        return features;
    }

    /** What prepare settled for the disks: the local volumes that move, the local cdroms --force drops. */
    private record DiskPlan(List<LocalDisk> moved, List<Integer> dropped) {}

    /**
     * Every volume's storage exists on both nodes. A running VM keeps its shared volumes (safe only
     * with a cache mode that bypasses the host's page cache) and, with {@code --with-local-disks},
     * has its local ones mirrored; a stopped VM's local ones are copied, each to its target storage
     * from {@code --target-storage}. A running VM's local cdrom is dropped with {@code --force}.
     */
    private DiskPlan checkStorages(MigrationRequest req, VmDefinition vm, boolean running, TargetNode.Info info,
                                   TargetNode target) {
        MigrationRequest.DiskOptions opts = req.disks();
        StorageMap map = StorageMap.parse(opts.targetStorage());
        if (!MigrationRequest.DiskOptions.MIRROR_MODES.contains(opts.mirrorMode())) {
            throw new MigrationRefused("--mirror-mode must be one of " + String.join(", ",
                    MigrationRequest.DiskOptions.MIRROR_MODES) + ", got '" + opts.mirrorMode() + "'");
        }
        List<LocalDisk> mirrored = new ArrayList<>();
        List<Integer> dropped = new ArrayList<>();
        for (int i = 0; i < vm.disks().size(); i++) {
            VmDefinition.Disk d = vm.disks().get(i);
            Storage s = local.storages().get(d.storage());
            if (s == null) {
                throw new MigrationRefused("storage '" + d.storage() + "' of volume '" + d.volume()
                        + "' does not exist on node '" + local.name() + "'");
            }
            if (s.shared()) {
                if (!info.storages().contains(d.storage())) {
                    throw new MigrationRefused("storage '" + d.storage() + "' of volume '" + d.volume()
                            + "' does not exist on target node '" + req.target() + "'");
                }
                if (running && !d.cdrom() && !d.direct() && !opts.unsafe()) {
                    throw new MigrationRefused("VM " + req.vmid() + ": volume '" + d.storage() + ":" + d.volume()
                            + "' on shared storage runs with cache '" + d.cacheMode() + "': node '" + local.name()
                            + "' may hold guest writes in its page cache that node '" + req.target() + "' would not"
                            + " read after the switch-over; set cache none or directsync on the disk (from its next"
                            + " start), or pass --unsafe if the storage keeps both hosts coherent");
                }
                continue;
            }
            if (running && d.cdrom()) {
                if (!req.force()) {
                    throw new MigrationRefused("VM " + req.vmid() + " has cdrom '" + d.storage() + ":" + d.volume()
                            + "' on local storage: a local device; pass --force to drop it (the medium is ejected and "
                            + "the VM moves with an empty drive), or move the image to shared storage");
                }
                dropped.add(i);
                continue;
            }
            Volumes.Info vi = volumes.info(s.volumePath(d.volume()));
            if (vi.isLinkedClone()) {
                throw new MigrationRefused("can't migrate volume '" + d.volume() + "': it is a linked clone");
            }
            mirrored.add(new LocalDisk(i, d, d.on(map.targetOf(d.storage())), vi.virtualSize(), vi.actualSize()));
        }
        if (mirrored.isEmpty()) {
            return new DiskPlan(List.of(), List.copyOf(dropped));
        }
        if (running && !opts.withLocalDisks()) {
            List<String> listed = new ArrayList<>();
            mirrored.forEach(l -> listed.add(l.volumeName() + " (" + Sizes.bytes(l.virtualSize()) + " "
                    + l.source().formatOrRaw() + ")"));
            throw new MigrationRefused("VM " + req.vmid() + " runs with local volumes on node '" + local.name() + "': "
                    + String.join(", ", listed) + "; pass --with-local-disks to mirror them to node '" + req.target()
                    + "' (--target-storage chooses where), stop the VM for an offline migration, or move them to "
                    + "shared storage");
        }
        if (running && req.limits().allowPostcopy()) {
            throw new MigrationRefused("VM " + req.vmid() + ": postcopy with local disks is not supported (the guest "
                    + "would run on node '" + req.target() + "' while its disks are still mirrored); drop "
                    + "--allow-postcopy");
        }
        checkTargetSpace(req, mirrored, target);
        return new DiskPlan(List.copyOf(mirrored), List.copyOf(dropped));
    }

    /** Each target storage exists, is the target's own, and has room for what goes there. */
    private void checkTargetSpace(MigrationRequest req, List<LocalDisk> disks, TargetNode target) {
        Map<String, TargetNode.StorageInfo> theirs;
        try {
            theirs = target.storages();
        } catch (RuntimeException e) {
            throw new MigrationRefused("target node '" + req.target() + "' did not list its storages: " + e.getMessage());
        }
        Map<String, Long> needed = new TreeMap<>();
        for (LocalDisk d : disks) {
            String dst = d.target().storage();
            TargetNode.StorageInfo si = theirs.get(dst);
            if (si == null) {
                throw new MigrationRefused("target storage '" + dst + "' for volume '" + d.volumeName()
                        + "' does not exist on target node '" + req.target() + "'; it has "
                        + String.join(", ", theirs.keySet()) + " (choose with --target-storage)");
            }
            if (si.shared()) {
                throw new MigrationRefused("target storage '" + dst + "' for volume '" + d.volumeName() + "' is shared"
                        + " between nodes: a moving volume must go to storage of node '" + req.target()
                        + "' alone (choose with --target-storage)");
            }
            needed.merge(dst, d.bytesNeeded(), Long::sum);
        }
        for (var e : needed.entrySet()) {
            long free = theirs.get(e.getKey()).usableBytes();
            if (e.getValue() > free) {
                throw new MigrationRefused("target storage '" + e.getKey() + "' on node '" + req.target() + "' has "
                        + Sizes.bytes(free) + " free, the volumes going there need " + Sizes.bytes(e.getValue())
                        + " (raw: virtual size; qcow2: allocated size plus 10% headroom, at least 64 MiB); free space"
                        + " there or choose another storage with --target-storage");
            }
        }
    }
}
