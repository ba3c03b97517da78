package ferry.migration.disk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.CancelSignal;
import ferry.migration.MigrationResult;
import ferry.migration.MigrationStep;
import ferry.migration.Progress;
import ferry.migration.Sizes;
import ferry.migration.TargetNode;
import ferry.migration.TaskLog;
import ferry.migration.phase.MigrationContext;
import ferry.migration.phase.Phase2;
import ferry.migration.phase.Phase2Monitor;
import ferry.migration.phase.Sleep;
import ferry.migration.policy.Policies;
import ferry.migration.qemu.QemuTls;
import ferry.node.QemuProcess;
import ferry.protocol.BlockJobCancelArgs;
import ferry.protocol.BlockJobChangeOptions;
import ferry.protocol.BlockJobChangeOptionsMirror;
import ferry.protocol.BlockJobInfo;
import ferry.protocol.BlockdevDelArgs;
import ferry.protocol.BlockdevMirrorArgs;
import ferry.protocol.Commands;
import ferry.protocol.JobDismissArgs;
import ferry.protocol.MirrorCopyMode;
import ferry.protocol.MirrorSyncMode;
import ferry.qmp.EventSubscription;
import ferry.qmp.QmpClient;
import ferry.qmp.QmpEventMessage;
import ferry.qmp.QmpException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The local disks of a live migration, mirrored by the source QEMU into the target's NBD exports
 * (phase 2, after the target started and before the RAM moves): one NBD client node and one
 * {@code blockdev-mirror} per disk, followed by QEMU's job events. Once every mirror is ready they
 * switch to write-blocking, so each guest write is acknowledged only when the target has it too;
 * at pre-switchover, with the guest stopped, they end, and the target's disks hold exactly what
 * the guest wrote. Its cleanup cancels and dismisses the jobs and deletes the client nodes.
 */
public final class DiskMirror {
    private static final List<String> EVENTS = List.of("BLOCK_JOB_READY", "JOB_STATUS_CHANGE", "BLOCK_JOB_ERROR");

    private final MigrationContext ctx;
    private final CancelSignal cancel;
    private final Duration pollInterval;
    private final List<LocalDisk> started = new ArrayList<>();
    private final Map<String, Long> bytes = new LinkedHashMap<>();
    /** The jobs started write-blocking (the others start in background mode). */
    private final Set<String> blocking = new HashSet<>();
    private QmpClient qmp;
    private EventSubscription events;
    private long startedNanos;
    private long endedNanos;
    private double percent;

    public DiskMirror(MigrationContext ctx, CancelSignal cancel, Duration pollInterval) {
        this.ctx = ctx;
        this.cancel = cancel;
        this.pollInterval = pollInterval;
    }

    /** When the first mirror started (before the write-rate sample): the time limit covers the disks too. */
    public long startedNanos() {
        return startedNanos;
    }

    public boolean active() {
        return !started.isEmpty();
    }

    /** Exports the target's disks, then starts one mirror per local disk into them. */
    public void start(QemuProcess src, long bytesPerS, long budgetMs) {
        qmp = src.qmp();
        List<String> drives = ctx.localDisks().stream().map(LocalDisk::drive).toList();
        ctx.journal().step(MigrationStep.EXPORT_DISKS, "export disks on " + ctx.targetName(),
                e -> e.set("drives", Policies.JSON.valueToTree(drives)));
        TargetNode.Endpoint nbd = ctx.target().exportDisks(ctx.vmid(), drives);
        ctx.log().info("NBD server on node '%s' at %s:%d exports %s%s", ctx.targetName(), nbd.host(), nbd.port(),
                String.join(", ", drives), ctx.tls() != null ? " over TLS" : "");
        // each disk gets an equal share of the link, as the seed divides its bwlimit
        long speed = bytesPerS / ctx.localDisks().size();
        // measured apart from the plan's sample: the dirty-rate probe beside it slows a TCG guest's writes
        Map<String, Double> writes = writeRates(Duration.ofSeconds(1));
        events = qmp.subscribe(EVENTS.toArray(String[]::new));
        startedNanos = System.nanoTime();
        String mode = ctx.req().disks().mirrorMode();
        if (!canSwitchMode(qmp)) {
            // prepare refused "background" here; "auto" cannot switch later, so it blocks from the start
            ctx.log().info("QEMU %s on node '%s' lacks block-job-change (QEMU 8.2 and newer have it): the mirrors "
                    + "start write-blocking", ctx.local().qemu().version(), ctx.here());
            mode = "write-blocking";
        }
        for (LocalDisk d : ctx.localDisks()) {
            MirrorStart.Choice c = MirrorStart.choose(mode, d.virtualSize(),
                    writes.getOrDefault(d.drive(), 0.0), speed, budgetMs);
            ctx.log().info("%s: %s", d.label(), c.why());
            ctx.journal().step(MigrationStep.MIRROR_DISK, "mirror " + d.label(),
                    e -> e.put("job", d.job()).put("nbd_node", d.nbdNode()));
            started.add(d); // before: a half-made client node or job is removed in cleanup too
            qmp.execute(Commands.BLOCKDEV_ADD, nbdClient(d, nbd, ctx.tls() != null ? Phase2.tlsHostOf(ctx) : null));
            qmp.call(Commands.BLOCKDEV_MIRROR, BlockdevMirrorArgs.builder().jobId(d.job()).device(d.node())
                    .target(d.nbdNode()).sync(MirrorSyncMode.FULL).speed(speed).autoDismiss(false)
                    .copyMode(c.writeBlocking() ? MirrorCopyMode.WRITE_BLOCKING : MirrorCopyMode.BACKGROUND).build());
            if (c.writeBlocking()) {
                blocking.add(d.job());
            }
            ctx.log().info("%s: mirror-job started (%s to node '%s', %s/s)", d.label(), d.volumeName(),
                    ctx.targetName(), Sizes.bytes(speed));
        }
    }

    /** Whether this QEMU can turn a background mirror write-blocking ({@code block-job-change}, QEMU 8.2+). */
    public static boolean canSwitchMode(ferry.qmp.QmpClient qmp) {
        for (var c : qmp.execute("query-commands", null)) {
            if (c.path("name").asText().equals("block-job-change")) {
                return true;
            }
        }
        return false;
    }

    /** The guest's write rate per drive (bytes/s), from QEMU's counters over {@code window}. */
    private Map<String, Double> writeRates(Duration window) {
        DiskWrites before = DiskWrites.read(qmp);
        Sleep.quietly(window.toMillis()); // a measurement window, not a wait for QEMU
        return DiskWrites.read(qmp).ratesSince(before);
    }

    /**
     * raw arguments: the generated union record takes eight positional fields, most of them unset.
     * With {@code tlsHost} the client speaks TLS with the credentials phase 2 loaded for the RAM
     * stream, and checks that the server's certificate names {@code tlsHost}.
     */
    private static ObjectNode nbdClient(LocalDisk d, TargetNode.Endpoint nbd, String tlsHost) {
        ObjectNode server = Policies.parameters().put("type", "inet").put("host", nbd.host())
                .put("port", Integer.toString(nbd.port()));
        ObjectNode args = Policies.parameters().put("driver", "nbd").put("node-name", d.nbdNode())
                .put("export", d.drive());
        if (tlsHost != null) {
            args.put("tls-creds", QemuTls.CREDS).put("tls-hostname", tlsHost);
        }
        args.set("server", server);
        return args;
    }

    /**
     * Waits, on QEMU's events, until every mirror is ready (the target caught up once); logs each
     * disk's progress every poll interval. A job that fails, a cancel, or the deadline ends it.
     */
    public void awaitReady(long deadlineMs) {
        Set<String> ready = new HashSet<>();
        long deadline = startedNanos + deadlineMs * 1_000_000;
        long nextLog = System.nanoTime() + pollInterval.toNanos();
        while (ready.size() < started.size()) {
            cancel.check();
            if (System.nanoTime() > deadline) {
                throw new Phase2Monitor.MigrationFailed("the disk mirrors were not ready within "
                        + Sizes.duration(deadlineMs) + " (the guest writes faster than the link carries, or the link "
                        + "is too slow); raise --max-duration or --bwlimit");
            }
            QmpEventMessage m = events.poll(Duration.ofMillis(200));
            if (m != null) {
                onEvent(m, ready);
            }
            if (ready.size() < started.size() && System.nanoTime() >= nextLog) {
                logProgress();
                nextLog = System.nanoTime() + pollInterval.toNanos();
            }
        }
        logProgress();
        ctx.log().info("all mirroring jobs are ready (%s)", Sizes.duration((System.nanoTime() - startedNanos) / 1_000_000));
    }

    private void onEvent(QmpEventMessage m, Set<String> ready) {
        String job = m.data().path("id").asText(m.data().path("device").asText());
        LocalDisk d = started.stream().filter(x -> x.job().equals(job)).findFirst().orElse(null);
        if (d == null) {
            return; // another job of this QEMU
        }
        switch (m.name()) {
            case "BLOCK_JOB_READY" -> ready.add(job);
            case "BLOCK_JOB_ERROR" -> throw new Phase2Monitor.MigrationFailed(d.label() + ": mirror I/O error ("
                    + m.data().path("operation").asText() + ") on the way to node '" + ctx.targetName()
                    + "' (the NBD link broke, or the target QEMU or its storage failed); the VM stays on node '"
                    + ctx.here() + "'");
            case "JOB_STATUS_CHANGE" -> {
                String status = m.data().path("status").asText();
                if (status.equals("ready")) {
                    ready.add(job);
                } else if (status.equals("aborting") || status.equals("concluded")) {
                    throw new Phase2Monitor.MigrationFailed(d.label() + ": mirror job ended before it was ready ("
                            + jobError(job) + ")");
                }
            }
            default -> { }
        }
    }

    /**
     * Every write from now is acknowledged to the guest only once the target has it
     * ({@code copy-mode: write-blocking}); returns when QEMU reports each mirror actively synced.
     */
    public void activate() {
        ctx.journal().step(MigrationStep.MIRROR_ACTIVE, "mirrors write-blocking");
        if (!canSwitchMode(qmp)) {
            // a QEMU without block-job-change (7.2) started every mirror write-blocking, and reports no
            // actively-synced (QEMU 8.2 brought both): ready in that mode means every write reaches the target
            ctx.log().info("all mirroring jobs are ready and were write-blocking from the start: guest writes reach "
                    + "node '%s' before they complete", ctx.targetName());
            return;
        }
        for (LocalDisk d : started) {
            if (!blocking.contains(d.job())) {
                qmp.call(Commands.BLOCK_JOB_CHANGE, new BlockJobChangeOptions.Mirror(d.job(),
                        new BlockJobChangeOptionsMirror(MirrorCopyMode.WRITE_BLOCKING)));
            }
        }
        // no event tells actively-synced; it follows within a moment once the remaining dirty blocks are copied
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            cancel.check();
            List<String> behind = new ArrayList<>();
            for (LocalDisk d : started) {
                BlockJobInfo j = job(d);
                if (!(j instanceof BlockJobInfo.Mirror mj) || !mj.value().activelySynced()) {
                    behind.add(d.label());
                }
            }
            if (behind.isEmpty()) {
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new Phase2Monitor.MigrationFailed("mirrors " + behind + " did not become actively synced within 60 s");
            }
            Sleep.quietly(50);
        }
        ctx.log().info("all mirroring jobs are actively synced: guest writes now reach node '%s' before they complete",
                ctx.targetName());
    }

    /**
     * At pre-switchover, with the guest's CPUs stopped: each mirror is cancelled, which for a ready
     * mirror means "finish the copy and keep the source" ({@code block-job-cancel} without force);
     * the jobs are dismissed and the client nodes deleted. The target's disks are frozen from here.
     */
    public void end() {
        ctx.journal().step(MigrationStep.END_MIRRORS, "end mirrors");
        for (LocalDisk d : started) {
            BlockJobInfo j = job(d);
            if (j != null) {
                bytes.put(d.label(), j.offset());
            }
            qmp.call(Commands.BLOCK_JOB_CANCEL, BlockJobCancelArgs.builder().device(d.job()).build());
        }
        awaitConcluded(Duration.ofSeconds(30));
        for (LocalDisk d : started) {
            String err = jobError(d.job());
            if (err != null) {
                throw new Phase2Monitor.MigrationFailed(d.label() + ": mirror failed at the switch-over: " + err);
            }
        }
        endedNanos = System.nanoTime();
        removeAll();
        ctx.log().info("mirrors ended with the guest stopped: node '%s' holds every write the guest made", ctx.targetName());
    }

    /** Waits until no job of ours is still running (each concluded, or gone). */
    private void awaitConcluded(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            boolean done = true;
            for (LocalDisk d : started) {
                BlockJobInfo j = job(d);
                if (j != null && j.status().wire() != null && !j.status().wire().equals("concluded")
                        && !j.status().wire().equals("null")) {
                    done = false;
                }
            }
            if (done) {
                return;
            }
            // woken by the job's own status events; the query decides
            events.await(m -> m.name().equals("JOB_STATUS_CHANGE"), Duration.ofMillis(200));
        }
        throw new Phase2Monitor.MigrationFailed("the disk mirrors did not end within " + timeout.toSeconds() + " s");
    }

    /** Dismisses our concluded jobs and deletes our NBD client nodes. */
    private void removeAll() {
        for (LocalDisk d : started) {
            if (job(d) != null) {
                qmp.call(Commands.JOB_DISMISS, JobDismissArgs.builder().id(d.job()).build());
            }
            deleteNode(qmp, d.nbdNode());
        }
        started.clear();
        closeEvents();
    }

    /** Undo: every mirror force-cancelled and dismissed, every client node deleted; the source keeps its disks. */
    public void cleanup() {
        if (started.isEmpty() || qmp == null || !qmp.isOpen()) {
            started.clear();
            closeEvents();
            return;
        }
        try {
            for (LocalDisk d : started) {
                BlockJobInfo j = job(d);
                if (j != null && !j.status().wire().equals("concluded")) {
                    qmp.call(Commands.BLOCK_JOB_CANCEL, BlockJobCancelArgs.builder().device(d.job()).force(true).build());
                }
            }
            awaitConcluded(Duration.ofSeconds(30));
            removeAll();
            ctx.log().info("cancelled the disk mirrors on node '%s'", ctx.here());
        } catch (RuntimeException e) {
            ctx.log().error("could not remove the disk mirrors of VM %d on node '%s': %s", ctx.vmid(), ctx.here(),
                    e.getMessage());
        }
    }

    /** What a recovery does on the source QEMU: cancels, dismisses and deletes whatever of ours is left. */
    public static void removeLeftovers(QemuProcess q, TaskLog log) {
        QmpClient c = q.qmp();
        try {
            for (BlockJobInfo j : c.call(Commands.QUERY_BLOCK_JOBS)) {
                if (j.device().startsWith("mirror-disk")) {
                    if (!j.status().wire().equals("concluded")) {
                        c.call(Commands.BLOCK_JOB_CANCEL, BlockJobCancelArgs.builder().device(j.device()).force(true)
                                .build());
                        waitGone(c, j.device());
                    }
                    c.call(Commands.JOB_DISMISS, JobDismissArgs.builder().id(j.device()).build());
                    log.info("cancelled mirror job %s", j.device());
                }
            }
            for (JsonNode n : c.execute(Commands.QUERY_NAMED_BLOCK_NODES, null)) {
                String name = n.path("node-name").asText();
                if (name.startsWith("nbd-disk")) {
                    deleteNode(c, name);
                    log.info("deleted NBD client node %s", name);
                }
            }
        } catch (QmpException e) {
            log.error("could not remove the disk mirrors: %s", e.getMessage());
        }
    }

    private static void waitGone(QmpClient c, String job) {
        for (int i = 0; i < 300; i++) {
            boolean running = false;
            for (BlockJobInfo j : c.call(Commands.QUERY_BLOCK_JOBS)) {
                if (j.device().equals(job) && !j.status().wire().equals("concluded")) {
                    running = true;
                }
            }
            if (!running) {
                return;
            }
            Sleep.quietly(100);
        }
    }

    private static void deleteNode(QmpClient c, String node) {
        try {
            c.call(Commands.BLOCKDEV_DEL, BlockdevDelArgs.builder().nodeName(node).build());
        } catch (ferry.qmp.QmpCommandException e) {
            // never added (the blockdev-add failed) or already gone
        }
    }

    private BlockJobInfo job(LocalDisk d) {
        for (BlockJobInfo j : qmp.call(Commands.QUERY_BLOCK_JOBS)) {
            if (j.device().equals(d.job())) {
                return j;
            }
        }
        return null;
    }

    private String jobError(String job) {
        for (BlockJobInfo j : qmp.call(Commands.QUERY_BLOCK_JOBS)) {
            if (j.device().equals(job)) {
                return j.error();
            }
        }
        return null;
    }

    /**
     * The seed's per-disk line ({@code drive-disk0: transferred 1.2 GiB of 4.0 GiB (30.00%) in 12s}),
     * and the task's progress: the disks take the first {@link #share()} of the whole.
     */
    private void logProgress() {
        long elapsedMs = (System.nanoTime() - startedNanos) / 1_000_000;
        long done = 0;
        long total = 0;
        for (LocalDisk d : started) {
            BlockJobInfo j = job(d);
            if (j != null) {
                double pct = j.len() == 0 ? 100 : 100.0 * j.offset() / j.len();
                ctx.log().info("%s: transferred %s of %s (%.2f%%) in %ds%s", d.label(), Sizes.bytes(j.offset()),
                        Sizes.bytes(j.len()), pct, elapsedMs / 1000, j.ready() ? ", ready" : "");
                done += Math.min(j.offset(), j.len());
                total += j.len();
            }
        }
        double pct = total == 0 ? 0 : share() * done / total;
        percent = Math.max(percent, Math.round(pct * 10) / 10.0); // a disk's length grows with the guest's writes
        ctx.log().progress(new Progress("disks", "mirror", percent, done, total - done, total, 0, 0, 0, 0, 0, 0, null,
                ctx.elapsedMs()));
    }

    /** The disks' share of the whole migration's progress, in percent: their bytes beside the RAM's. */
    public double share() {
        long disks = ctx.localDisks().stream().mapToLong(LocalDisk::virtualSize).sum();
        long ram = (long) ctx.vm().memoryMiB() << 20;
        return disks + ram == 0 ? 0 : 100.0 * disks / (disks + ram);
    }

    /** Per disk: bytes the mirror copied, seconds it ran, and the mode it ended in. */
    public List<MigrationResult.Disk> results() {
        double secs = endedNanos == 0 ? 0 : Math.round((endedNanos - startedNanos) / 1e8) / 10.0;
        List<MigrationResult.Disk> out = new ArrayList<>();
        for (var e : bytes.entrySet()) {
            String job = "mirror-" + e.getKey().substring("drive-".length());
            out.add(new MigrationResult.Disk(e.getKey(), e.getValue(), secs, blocking.contains(job)
                    ? "write-blocking" : "background, then write-blocking"));
        }
        return out;
    }

    private void closeEvents() {
        if (events != null) {
            events.close();
            events = null;
        }
    }
}
