package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.protocol.Commands;
import ferry.testkit.BootblockGuest;
import ferry.testkit.PageOracle;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The orchestrator crashes at a journaled step (the step hook throws an Error that no cleanup
 * catches, and every QMP connection of the dead process is dropped), then a new one recovers
 * the journal; or the target fails at the hand-over. After each, the invariants hold: one QEMU
 * runs the guest, the store names its node, no lock and no open journal are left, and the
 * guest's memory is intact where it runs.
 */
@Timeout(180)
class CrashRecoveryTest {
    private static final BootblockGuest GUEST = new BootblockGuest(128, 1024 * 1024 + (8L << 20), 100_000);
    private static final int VMID = 700;

    @TempDir
    Path dir;

    /** The crash of the orchestrating process: nothing after it runs, its connections close. */
    static final class SimulatedCrash extends Error {
        SimulatedCrash(String where) {
            super("simulated crash at " + where);
        }
    }

    private static StepHook crashAt(MigrationStep step) {
        AtomicBoolean done = new AtomicBoolean();
        return (task, s) -> {
            if (s == step && done.compareAndSet(false, true)) {
                throw new SimulatedCrash(s.wire());
            }
        };
    }

    private static QemuProcess startGuest(TwoNodes nodes) throws Exception {
        VmDefinition vm = nodes.bootblockVm(VMID, GUEST);
        QemuProcess src = nodes.a.start(vm);
        BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
        return src;
    }

    private static MigrationRequest request(Integer bwlimit) {
        return new MigrationRequest(VMID, "b", true, false, bwlimit, null, "qemu-default");
    }

    /** Runs the migration until the crash; then the "process" is gone: its QMP connections close. */
    private static void runUntilCrash(TwoNodes nodes, Migration m, MigrationRequest req, TaskLog log) {
        Throwable e = catchThrowable(() -> m.run(req, "task-crash", log, new CancelSignal()));
        assertThat(e).as(String.join("\n", log.lines())).isInstanceOf(SimulatedCrash.class);
        nodes.a.disconnectAll();
        nodes.b.disconnectAll();
        assertThat(nodes.store.openJournals()).contains("task-crash");
    }

    private static MigrationResult recover(TwoNodes nodes) {
        TaskLog log = new TaskLog();
        MigrationResult r = nodes.migrationFromA().recover("task-crash", log, new CancelSignal());
        System.out.println(String.join("\n", log.lines()));
        assertThat(String.join("\n", log.lines())).contains("recovered after restart");
        return r;
    }

    /** Exactly one QEMU runs the guest, on the store's owner; nothing is locked or left open. */
    private static void assertRunsOnlyOn(TwoNodes nodes, String node, MigrationResult r) throws Exception {
        LocalNode on = node.equals("a") ? nodes.a : nodes.b;
        LocalNode off = node.equals("a") ? nodes.b : nodes.a;
        String log = String.join("\n", r.log());
        assertThat(on.status(VMID).state()).as(log).isEqualTo(LocalNode.State.RUNNING);
        assertThat(off.status(VMID).state()).as(log).isEqualTo(LocalNode.State.STOPPED);
        assertThat(nodes.store.vm(VMID).orElseThrow().owner()).isEqualTo(node);
        assertThat(nodes.store.vm(VMID).orElseThrow().lock()).isNull();
        assertThat(nodes.store.openJournals()).isEmpty();
        QemuProcess q = on.running(VMID).orElseThrow();
        int before = BootblockGuest.passMarkers(q);
        BootblockGuest.awaitPassMarkers(q, before + 1, Duration.ofSeconds(30));
        q.qmp().call(Commands.STOP);
        PageOracle.Result oracle = GUEST.checkMemory(q);
        assertThat(oracle.ok()).as(oracle.message()).isTrue();
        q.qmp().call(Commands.CONT);
    }

    /** A log whose first progress line crashes the orchestrator: the source QEMU goes on sending, unsupervised. */
    private static TaskLog crashingInPrecopy() {
        TaskLog log = new TaskLog();
        log.follow(line -> {
            if (line.contains("migration active")) {
                throw new SimulatedCrash("pre-copy");
            }
        });
        return log;
    }

    @Test
    void crashDuringPrecopyIsRolledBackAndTheSourceKeepsTheGuest() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            startGuest(nodes);
            runUntilCrash(nodes, nodes.migrationFromA(), request(2), crashingInPrecopy());
            MigrationResult r = recover(nodes);
            assertThat(r.status()).isEqualTo(MigrationResult.Status.FAILED);
            assertThat(r.error()).contains("rolled back");
            assertRunsOnlyOn(nodes, "a", r);
        }
    }

    @Test
    void aStreamThatConvergedWhileTheOrchestratorWasDeadLeavesNoGuestPausedOnBothNodes() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            startGuest(nodes);
            // 24 MiB/s: the stream goes on unsupervised and completes before anyone recovers it
            runUntilCrash(nodes, nodes.migrationFromA(), request(24), crashingInPrecopy());
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!LocalTarget.stateOf(nodes.a, VMID).migration().equals("completed")) {
                assertThat(System.nanoTime()).as("the stream completes by itself").isLessThan(deadline);
                Thread.sleep(200);
            }
            assertThat(nodes.a.status(VMID).state()).isEqualTo(LocalNode.State.PAUSED);
            nodes.a.disconnectAll();
            MigrationResult r = recover(nodes);
            assertRunsOnlyOn(nodes, "a", r);
        }
    }

    /** Before the ownership moved the guest stays on the source; after, the hand-over is finished. */
    @ParameterizedTest
    @CsvSource({"LOCK, a, FAILED", "START_INCOMING, a, FAILED", "MOVE_OWNER, a, FAILED", "RESUME_TARGET, b, COMPLETED",
            "STOP_SOURCE, b, COMPLETED", "UNLOCK, b, COMPLETED"})
    void aCrashAtAJournaledStepIsRecovered(MigrationStep step, String node, MigrationResult.Status status)
            throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            startGuest(nodes);
            runUntilCrash(nodes, nodes.migrationFromA().onStep(crashAt(step)), request(null), new TaskLog());
            MigrationResult r = recover(nodes);
            assertThat(r.status()).as(String.join("\n", r.log())).isEqualTo(status);
            assertRunsOnlyOn(nodes, node, r);
        }
    }

    /**
     * Postcopy began, then the orchestrator died before the hand-over: both QEMUs hold part of the
     * guest's state. The recovery either finishes forward (postcopy still running) or, if the
     * stream completed meanwhile with the target never run, gives the guest back to the source.
     */
    @Test
    void aCrashInPostcopyBeforeTheHandOverKeepsOneWholeGuest() throws Exception {
        BootblockGuest hot = PolicyTest.HOT;
        try (TwoNodes nodes = new TwoNodes(dir)) {
            QemuProcess src = nodes.a.start(nodes.bootblockVm(VMID, hot));
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            MigrationRequest req = new MigrationRequest(VMID, "b", true, false, PolicyTest.BW_MIB, 300, "budget",
                    new MigrationRequest.Limits(60, false, true, false, null));
            runUntilCrash(nodes, nodes.migrationFromA().onStep(crashAt(MigrationStep.MOVE_OWNER)), req, new TaskLog());
            assertThat(nodes.store.journal("task-crash")).extracting(e -> e.path("kind").asText())
                    .contains("start-postcopy");
            MigrationResult r = recover(nodes);
            String node = nodes.store.vm(VMID).orElseThrow().owner();
            LocalNode on = node.equals("a") ? nodes.a : nodes.b;
            LocalNode off = node.equals("a") ? nodes.b : nodes.a;
            assertThat(on.status(VMID).state()).as(String.join("\n", r.log())).isEqualTo(LocalNode.State.RUNNING);
            assertThat(off.status(VMID).state()).isEqualTo(LocalNode.State.STOPPED);
            assertThat(nodes.store.vm(VMID).orElseThrow().lock()).isNull();
            assertThat(nodes.store.openJournals()).isEmpty();
            QemuProcess q = on.running(VMID).orElseThrow();
            q.qmp().call(Commands.STOP);
            PageOracle.Result oracle = hot.checkMemory(q);
            assertThat(oracle.ok()).as(oracle.message()).isTrue();
        }
    }

    @Test
    void aTargetQemuThatDiesBeforeItRunsTheGuestHandsItBack() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            startGuest(nodes);
            Migration m = nodes.migrationFromA().onStep((task, s) -> {
                if (s == MigrationStep.RESUME_TARGET) {
                    nodes.b.running(VMID).orElseThrow().kill();
                }
            });
            MigrationResult r = m.run(request(null), "task-gone", new TaskLog(), new CancelSignal());
            assertThat(r.status()).as(String.join("\n", r.log())).isEqualTo(MigrationResult.Status.FAILED);
            assertThat(r.error()).contains("handed back");
            assertRunsOnlyOn(nodes, "a", r);
        }
    }

    @Test
    void anUnreachableTargetAtTheHandOverKeepsTheSourcePausedUntilItAnswers() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            startGuest(nodes);
            AtomicBoolean down = new AtomicBoolean();
            TargetNode real = new LocalTarget(nodes.b, nodes.volumes, "127.0.0.1");
            TargetNode flaky = new ForwardingTarget(real) {
                private void check() {
                    if (down.get()) {
                        throw new IllegalStateException("the agent at 127.0.0.1:2 does not answer (connection refused)");
                    }
                }

                @Override public void resume(int vmid) { check(); real.resume(vmid); }
                @Override public QemuState state(int vmid) { check(); return real.state(vmid); }
                @Override public void stop(int vmid) { check(); real.stop(vmid); }
            };
            AtomicReference<String> cancelRefusal = new AtomicReference<>();
            CancelSignal cancel = new CancelSignal();
            Migration m = new Migration(nodes.store, nodes.a, nodes.volumes, n -> flaky)
                    .pollInterval(Duration.ofMillis(300)).onStep((task, s) -> {
                        if (s == MigrationStep.MOVE_OWNER) {
                            down.set(true);
                            cancelRefusal.set(catchThrowable(() -> cancel.cancel("too late")).getMessage());
                        }
                    });
            CompletableFuture<MigrationResult> run = CompletableFuture.supplyAsync(() ->
                    m.run(request(null), "task-down", new TaskLog(), cancel));
            Thread.sleep(5000);
            assertThat(run).isNotDone();
            assertThat(nodes.a.status(VMID).state()).as("the source waits paused, never stopped")
                    .isEqualTo(LocalNode.State.PAUSED);
            assertThat(nodes.b.status(VMID).state()).isEqualTo(LocalNode.State.PAUSED);
            assertThat(nodes.store.journal("task-down")).extracting(e -> e.path("kind").asText())
                    .contains("handover-pending");
            down.set(false);
            MigrationResult r = run.get(60, TimeUnit.SECONDS);
            assertThat(r.status()).as(String.join("\n", r.log())).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(cancelRefusal.get()).contains("can no longer be cancelled").contains("hand-over");
            assertRunsOnlyOn(nodes, "b", r);
        }
    }
}
