package ferry.migration;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterException;
import ferry.cluster.ClusterStore;
import ferry.cluster.NodeInfo;
import ferry.cluster.VmRecord;
import ferry.node.LocalNode;
import ferry.node.NodeException;
import ferry.node.QemuProcess;
import ferry.node.Storage;
import ferry.node.VmDefinition;
import ferry.node.Volumes;
import ferry.protocol.Commands;
import ferry.protocol.MigrateArgs;
import ferry.protocol.MigrateSetParameters;
import ferry.protocol.MigrationCapability;
import ferry.protocol.MigrationCapabilityStatus;
import ferry.protocol.MigrateSetCapabilitiesArgs;
import ferry.protocol.MachineInfo;
import ferry.protocol.MigrationInfo;
import ferry.protocol.QueryMachinesArgs;
import ferry.protocol.RunState;
import ferry.qmp.EventSubscription;
import ferry.qmp.QmpException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The orchestrator of one migration, run on the source node: prepare, phase 1 (lock, copy local
 * volumes of a stopped VM), phase 2 (live migration of a running VM), phase 3 (hand-over), each
 * with its cleanup, as in the seed. Every step is journaled before it acts.
 */
public final class Migration {
    /** The seed's "unlimited" bandwidth, in MiB/s. */
    public static final int DEFAULT_BWLIMIT_MIB = 8192;
    public static final int DEFAULT_DOWNTIME_MS = 100;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ClusterStore store;
    private final LocalNode local;
    private final Volumes volumes;
    private final Function<String, TargetNode> targets;
    private Duration pollInterval = Duration.ofSeconds(2);

    public Migration(ClusterStore store, LocalNode local, Volumes volumes, Function<String, TargetNode> targets) {
        this.store = store;
        this.local = local;
        this.volumes = volumes;
        this.targets = targets;
    }

    /** How often phase 2 asks QEMU for progress (the seed's 2 s by default). */
    public Migration pollInterval(Duration d) {
        this.pollInterval = d;
        return this;
    }

    /** What a running migration knows; filled as phases proceed. */
    private static final class Run {
        final MigrationRequest req;
        final String taskId;
        final TaskLog log;
        final long started = System.nanoTime();
        VmDefinition vm;
        TargetNode target;
        boolean running;
        boolean locked;
        boolean targetStarted;
        boolean pausedByUs;
        final List<VmDefinition.Disk> copied = new ArrayList<>();
        final List<String> problems = new ArrayList<>();
        MigrationInfo stats;

        Run(MigrationRequest req, String taskId, TaskLog log) {
            this.req = req;
            this.taskId = taskId;
            this.log = log;
        }

        long elapsedMs() {
            return (System.nanoTime() - started) / 1_000_000;
        }
    }

    /** A migration that passed prepare: nothing has changed yet. */
    public static final class Prepared {
        private final Run run;

        private Prepared(Run run) {
            this.run = run;
        }

        public MigrationRequest request() {
            return run.req;
        }
    }

    /**
     * Checks everything that can be checked before acting (the seed's prepare): refusals throw
     * {@link MigrationRefused} and change nothing.
     */
    public Prepared prepare(MigrationRequest req, String taskId, TaskLog log) {
        Run r = new Run(req, taskId, log);
        prepare(r);
        return new Prepared(r);
    }

    /** Prepares and runs the migration to its end. */
    public MigrationResult run(MigrationRequest req, String taskId, TaskLog log, CancelSignal cancel) {
        return execute(prepare(req, taskId, log), cancel);
    }

    /** Runs a prepared migration to its end; every failure is cleaned up and reported in the result. */
    public MigrationResult execute(Prepared prepared, CancelSignal cancel) {
        Run r = prepared.run;
        MigrationRequest req = r.req;
        TaskLog log = r.log;
        String taskId = r.taskId;
        log.info("starting migration of VM %d to node '%s' (%s)", req.vmid(), req.target(),
                store.config().node(req.target()).map(NodeInfo::migrationAddress).orElse("?"));
        try {
            cancel.check();
            phase1(r);
            if (r.running) {
                phase2(r, cancel);
            }
            cancel.check();
        } catch (RuntimeException e) {
            boolean cancelled = e instanceof CancelSignal.MigrationCancelled;
            log.error("migration aborted (duration %s): %s", Sizes.duration(r.elapsedMs()),
                    cancelled ? "cancelled: " + e.getMessage() : e.getMessage());
            cleanupBeforeHandOver(r);
            journal(r, "ended", cancelled ? "cancelled" : "failed");
            store.closeJournal(taskId);
            return result(r, cancelled ? MigrationResult.Status.CANCELLED : MigrationResult.Status.FAILED, e.getMessage());
        }
        phase3(r);
        journal(r, "ended", r.problems.isEmpty() ? "completed" : "problems");
        store.closeJournal(taskId);
        if (r.problems.isEmpty()) {
            log.info("migration finished successfully (duration %s)", Sizes.duration(r.elapsedMs()));
            return result(r, MigrationResult.Status.COMPLETED, null);
        }
        log.error("migration finished with problems (duration %s)", Sizes.duration(r.elapsedMs()));
        return result(r, MigrationResult.Status.PROBLEMS, String.join("; ", r.problems));
    }

    // ---- prepare: refuse with a reason, change nothing ------------------------------------------

    private void prepare(Run r) {
        MigrationRequest req = r.req;
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
        try {
            r.vm = JSON.treeToValue(rec.config(), VmDefinition.class);
        } catch (Exception e) {
            throw new MigrationRefused("VM " + req.vmid() + " has an unreadable definition: " + e.getMessage());
        }
        LocalNode.Status st = local.status(req.vmid());
        r.running = st.state() != LocalNode.State.STOPPED;
        if (r.running && !req.online()) {
            throw new MigrationRefused("VM " + req.vmid() + " is running on node '" + here
                    + "'; use --online to migrate it live, or stop it first");
        }
        if (r.running && st.state() != LocalNode.State.RUNNING && st.state() != LocalNode.State.PAUSED) {
            throw new MigrationRefused("VM " + req.vmid() + " is in state '" + st.qemuStatus() + "' on node '" + here
                    + "'; only a running or paused VM migrates live");
        }
        r.target = targets.apply(req.target());
        TargetNode.Info info;
        try {
            info = r.target.probe();
        } catch (RuntimeException e) {
            throw new MigrationRefused("target node '" + req.target() + "' does not answer: " + e.getMessage());
        }
        for (VmDefinition.Disk d : r.vm.disks()) {
            Storage s = local.storages().get(d.storage());
            if (s == null) {
                throw new MigrationRefused("storage '" + d.storage() + "' of volume '" + d.volume()
                        + "' does not exist on node '" + here + "'");
            }
            if (!info.storages().contains(d.storage())) {
                throw new MigrationRefused("storage '" + d.storage() + "' of volume '" + d.volume()
                        + "' does not exist on target node '" + req.target() + "'");
            }
            if (s.shared()) {
                continue;
            }
            if (r.running) {
                throw new MigrationRefused("VM " + req.vmid() + " runs with local volume '" + d.volume() + "' on storage '"
                        + d.storage() + "'; live migration with local disks is not supported yet: stop the VM for an "
                        + "offline migration, or move the volume to shared storage");
            }
            if (volumes.info(s.volumePath(d.volume())).isLinkedClone()) {
                throw new MigrationRefused("can't migrate volume '" + d.volume() + "': it is a linked clone");
            }
        }
        String mine = local.qemu().version();
        if (compareVersions(info.qemuVersion(), mine) < 0) {
            throw new MigrationRefused("target node '" + req.target() + "' runs QEMU " + info.qemuVersion()
                    + ", older than QEMU " + mine + " here; a migration may only go to the same or a newer QEMU");
        }
    }

    static int compareVersions(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int p = i < x.length ? Integer.parseInt(x[i]) : 0;
            int q = i < y.length ? Integer.parseInt(y[i]) : 0;
            if (p != q) {
                return Integer.compare(p, q);
            }
        }
        return 0;
    }

    // ---- phase 1: lock, copy local volumes of a stopped VM --------------------------------------

    private void phase1(Run r) {
        journal(r, "phase1", "lock");
        try {
            store.lock(r.req.vmid(), local.name(), "migrate");
        } catch (ClusterException e) {
            throw new MigrationRefused(e.getMessage());
        }
        r.locked = true;
        if (r.running) {
            return;
        }
        for (VmDefinition.Disk d : r.vm.disks()) {
            Storage s = local.storages().get(d.storage());
            if (s.shared()) {
                continue;
            }
            Path from = s.volumePath(d.volume());
            journal(r, "phase1", "copy " + d.storage() + ":" + d.volume());
            r.log.info("copying volume '%s:%s' (%s) to node '%s'", d.storage(), d.volume(),
                    Sizes.bytes(from.toFile().length()), r.req.target());
            r.copied.add(d); // before the copy: a partial copy is freed in cleanup too
            r.target.receiveVolume(d, from, r.req.bwlimitMiBps());
        }
    }

    // ---- phase 2: live migration ----------------------------------------------------------------

    private void phase2(Run r, CancelSignal cancel) {
        int vmid = r.req.vmid();
        QemuProcess src = local.running(vmid).orElseThrow(() ->
                new NodeException("VM " + vmid + " stopped running on node '" + local.name() + "'"));
        VmDefinition pinned = pinMachine(r, src);
        journal(r, "phase2", "start incoming on " + r.req.target());
        r.targetStarted = true;
        TargetNode.Endpoint ep = r.target.startIncoming(pinned);
        r.log.info("starting VM %d on remote node '%s', listening at %s", vmid, r.req.target(), ep.uri());
        var qmp = src.qmp();
        long downtime = firstNonNull(r.req.downtimeMs(), r.vm.migration() == null ? null : r.vm.migration().downtimeMs(),
                DEFAULT_DOWNTIME_MS);
        long bw = firstNonNull(r.req.bwlimitMiBps(), r.vm.migration() == null ? null : r.vm.migration().speedMiBps(),
                DEFAULT_BWLIMIT_MIB);
        boolean classic = r.req.policy().equals("classic");
        List<MigrationCapabilityStatus> caps = new ArrayList<>();
        caps.add(new MigrationCapabilityStatus(MigrationCapability.EVENTS, true));
        caps.add(new MigrationCapabilityStatus(MigrationCapability.XBZRLE, classic));
        qmp.call(Commands.MIGRATE_SET_CAPABILITIES, new MigrateSetCapabilitiesArgs(caps));
        MigrateSetParameters.Builder params = MigrateSetParameters.builder()
                .downtimeLimit(BigInteger.valueOf(downtime))
                .maxBandwidth(BigInteger.valueOf(bw << 20));
        long cache = xbzrleCache(r.vm.memoryMiB());
        if (classic) {
            params.xbzrleCacheSize(BigInteger.valueOf(cache));
        }
        qmp.call(Commands.MIGRATE_SET_PARAMETERS, params.build());
        r.log.info("migration parameters: downtime-limit %d ms, max-bandwidth %d MiB/s%s", downtime, bw,
                classic ? ", xbzrle cache " + Sizes.bytes(cache) : "");
        r.pausedByUs = qmp.call(Commands.QUERY_STATUS).status() == RunState.RUNNING;
        journal(r, "phase2", "migrate to " + ep.uri());
        try (EventSubscription events = qmp.subscribe("MIGRATION")) {
            qmp.call(Commands.MIGRATE, MigrateArgs.builder().uri(ep.uri()).build());
            r.stats = new Phase2Monitor(qmp, events, r.log, cancel, pollInterval, classic, downtime).follow();
        }
        r.log.info("migration status: completed");
        if (r.stats.downtime() != null) {
            r.log.info("migration downtime %d ms", r.stats.downtime());
        }
        if (r.stats.ram() != null) {
            r.log.info("migration transferred %s in %d ms", Sizes.bytes(r.stats.ram().transferred()),
                    r.stats.totalTime());
        }
    }

    /**
     * The target must start the same virtual hardware: a machine alias such as "pc" is resolved to
     * the versioned type the source QEMU runs (e.g. "pc-i440fx-10.0").
     */
    private static VmDefinition pinMachine(Run r, QemuProcess src) {
        VmDefinition vm = r.vm;
        for (MachineInfo m : src.qmp().call(Commands.QUERY_MACHINES, QueryMachinesArgs.builder().build())) {
            if (vm.machine().equals(m.alias())) {
                r.log.info("pinned machine type '%s' (%s), CPU model '%s'", m.name(), vm.machine(), vm.cpu());
                return new VmDefinition(vm.vmid(), vm.name(), vm.memoryMiB(), vm.vcpus(), m.name(), vm.cpu(), vm.boot(),
                        vm.disks(), vm.accel(), vm.migration());
            }
        }
        return vm;
    }

    /** The seed's 10% of RAM, rounded down to the power of two QEMU requires (at least one page). */
    static long xbzrleCache(int memoryMiB) {
        long tenth = (long) memoryMiB * 1024 * 1024 / 10;
        return Math.max(4096, Long.highestOneBit(tenth));
    }

    private static long firstNonNull(Integer a, Integer b, int dflt) {
        return a != null ? a : b != null ? b : dflt;
    }

    // ---- cleanup of phases 1 and 2: the VM stays where it was ------------------------------------

    private void cleanupBeforeHandOver(Run r) {
        int vmid = r.req.vmid();
        if (r.running && r.targetStarted) {
            r.log.info("aborting phase 2 - cleanup resources");
            Optional<QemuProcess> src = local.running(vmid);
            if (src.isEmpty()) {
                r.log.error("VM %d is no longer running on node '%s' (its QEMU is gone); it was not migrated",
                        vmid, local.name());
            }
            src.ifPresent(q -> {
                try {
                    r.log.info("migrate_cancel");
                    q.qmp().call(Commands.MIGRATE_CANCEL);
                    waitUntilMigrationEnds(q);
                    // resume only what the migration paused; a VM the user paused stays paused
                    if (r.pausedByUs && q.qmp().call(Commands.QUERY_STATUS).status() != RunState.RUNNING) {
                        q.qmp().call(Commands.CONT);
                        r.log.info("resumed VM %d on node '%s'", vmid, local.name());
                    }
                } catch (QmpException e) {
                    r.log.error("migrate_cancel error: %s", e.getMessage());
                }
            });
            try {
                r.target.stop(vmid);
            } catch (RuntimeException e) {
                r.log.error("could not stop VM %d on target node '%s': %s", vmid, r.req.target(), e.getMessage());
            }
        }
        if (!r.copied.isEmpty()) {
            List<String> left = r.target.freeVolumes(r.copied);
            for (String v : left) {
                r.log.error("could not free volume copy '%s' on node '%s'; remove it by hand", v, r.req.target());
            }
        }
        if (r.locked) {
            try {
                store.unlock(vmid, local.name(), "migrate");
            } catch (ClusterException e) {
                r.log.error("could not drop the migrate lock of VM %d: %s", vmid, e.getMessage());
            }
        }
    }

    private static void waitUntilMigrationEnds(QemuProcess q) {
        for (int i = 0; i < 100; i++) {
            MigrationInfo info = q.qmp().call(Commands.QUERY_MIGRATE);
            if (info.status() == null || switch (info.status()) {
                case ACTIVE, SETUP, CANCELLING, DEVICE, PRE_SWITCHOVER, POSTCOPY_ACTIVE, WAIT_UNPLUG -> false;
                default -> true;
            }) {
                return;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    // ---- phase 3: hand over; after ownership moved nothing is rolled back -------------------------

    private void phase3(Run r) {
        int vmid = r.req.vmid();
        String target = r.req.target();
        journal(r, "phase3", "move ownership to " + target);
        try {
            store.move(vmid, local.name(), target);
        } catch (ClusterException e) {
            // ownership did not move: the VM is still ours, so undo as before hand-over
            r.log.error("could not move VM %d to node '%s': %s", vmid, target, e.getMessage());
            cleanupBeforeHandOver(r);
            r.problems.add("ownership could not move: " + e.getMessage());
            return;
        }
        if (r.running) {
            journal(r, "phase3", "resume on " + target);
            try {
                r.target.resume(vmid);
            } catch (RuntimeException e) {
                r.problems.add("VM " + vmid + " could not be resumed on node '" + target + "': " + e.getMessage()
                        + "; it is paused there with its whole state — resume it on that node");
            }
            journal(r, "phase3", "stop source");
            try {
                local.stop(vmid, Duration.ofSeconds(10));
            } catch (RuntimeException e) {
                r.problems.add("the old QEMU of VM " + vmid + " on node '" + local.name() + "' could not be stopped: "
                        + e.getMessage() + "; kill it by hand (it is paused and owns nothing)");
            }
        } else {
            for (VmDefinition.Disk d : r.copied) {
                Path p = local.storages().get(d.storage()).volumePath(d.volume());
                journal(r, "phase3", "free source volume " + d.volume());
                try {
                    volumes.delete(p);
                } catch (RuntimeException e) {
                    r.problems.add("removing local copy of '" + d.storage() + ":" + d.volume() + "' failed: "
                            + e.getMessage());
                }
            }
        }
        journal(r, "phase3", "unlock");
        try {
            store.unlock(vmid, target, "migrate");
        } catch (ClusterException e) {
            r.problems.add("the migrate lock of VM " + vmid + " could not be dropped on node '" + target + "': "
                    + e.getMessage());
        }
    }

    // ---- journal and result ------------------------------------------------------------------

    private void journal(Run r, String phase, String step) {
        ObjectNode e = JSON.createObjectNode();
        e.put("time", System.currentTimeMillis());
        e.put("vmid", r.req.vmid());
        e.put("source", local.name());
        e.put("target", r.req.target());
        e.put("phase", phase);
        e.put("step", step);
        store.appendJournal(r.taskId, e);
    }

    private MigrationResult result(Run r, MigrationResult.Status status, String error) {
        Long total = r.stats == null ? null : r.stats.totalTime();
        Long downtime = r.stats == null ? null : r.stats.downtime();
        Long bytes = r.stats == null || r.stats.ram() == null ? null : r.stats.ram().transferred();
        return new MigrationResult(status, r.req.vmid(), local.name(), r.req.target(), r.running, r.elapsedMs(), total,
                downtime, bytes, r.req.policy(), error, List.copyOf(r.problems), r.log.lines());
    }
}
