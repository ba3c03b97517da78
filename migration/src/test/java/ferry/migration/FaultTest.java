package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.testkit.BootblockGuest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Faults during phase 2 end with the VM where it was, unlocked, and nothing left on the target. */
class FaultTest {
    @TempDir
    Path dir;

    /** Starts a slow migration (2 MiB/s) of a running bootblock VM and applies {@code fault} once it is active. */
    private MigrationResult migrateWithFault(TwoNodes nodes, CancelSignal cancel, Consumer<TwoNodes> fault) throws Exception {
        return migrateWithFault(nodes, cancel, false, fault);
    }

    private MigrationResult migrateWithFault(TwoNodes nodes, CancelSignal cancel, boolean userPaused,
                                             Consumer<TwoNodes> fault) throws Exception {
        VmDefinition vm = nodes.bootblockVm(400, new BootblockGuest(128, 1024 * 1024 + (32L << 20), 100_000));
        QemuProcess q = nodes.a.start(vm);
        if (userPaused) {
            nodes.a.pause(400);
        }
        TaskLog log = new TaskLog();
        CompletableFuture<String> active = new CompletableFuture<>();
        log.follow(l -> {
            if (l.contains("migration active")) {
                active.complete(l);
            }
        });
        CompletableFuture<MigrationResult> run = CompletableFuture.supplyAsync(() -> nodes.migrationFromA().run(
                new MigrationRequest(400, "b", true, false, 2, null, null), "task-f", log, cancel));
        active.get(60, TimeUnit.SECONDS);
        fault.accept(nodes);
        return run.get(120, TimeUnit.SECONDS);
    }

    private static void assertSourceKeptIt(TwoNodes nodes, MigrationResult r) {
        assertThat(nodes.a.status(400).state()).as(String.join("\n", r.log())).isEqualTo(LocalNode.State.RUNNING);
        assertThat(nodes.b.status(400).state()).isEqualTo(LocalNode.State.STOPPED);
        assertThat(nodes.store.vm(400).orElseThrow().owner()).isEqualTo("a");
        assertThat(nodes.store.vm(400).orElseThrow().lock()).isNull();
        assertThat(nodes.store.openJournals()).isEmpty();
    }

    @Test
    void cancelInPhase2ResumesNothingTheUserPausedAndCleansTheTarget() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            CancelSignal cancel = new CancelSignal();
            MigrationResult r = migrateWithFault(nodes, cancel, n -> cancel.cancel("cancelled by the user"));
            assertThat(r.status()).isEqualTo(MigrationResult.Status.CANCELLED);
            assertThat(String.join("\n", r.log())).contains("migrate_cancel");
            assertSourceKeptIt(nodes, r);
        }
    }

    @Test
    void aVmTheUserPausedStaysPausedAfterACancel() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            CancelSignal cancel = new CancelSignal();
            MigrationResult r = migrateWithFault(nodes, cancel, true, n -> cancel.cancel("cancelled by the user"));
            assertThat(r.status()).isEqualTo(MigrationResult.Status.CANCELLED);
            assertThat(nodes.a.status(400).state()).as(nodes.a.status(400).qemuStatus() + "\n" + String.join("\n", r.log())).isEqualTo(LocalNode.State.PAUSED);
            assertThat(String.join("\n", r.log())).doesNotContain("resumed VM 400");
            assertThat(nodes.store.vm(400).orElseThrow().lock()).isNull();
            assertThat(nodes.b.status(400).state()).isEqualTo(LocalNode.State.STOPPED);
        }
    }

    @Test
    void targetQemuKilledInPhase2() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            MigrationResult r = migrateWithFault(nodes, new CancelSignal(),
                    n -> n.b.running(400).orElseThrow().kill());
            assertThat(r.status()).isEqualTo(MigrationResult.Status.FAILED);
            assertThat(r.error()).contains("migration status: failed");
            assertSourceKeptIt(nodes, r);
        }
    }

    @Test
    void sourceQemuKilledInPhase2IsReportedAsLostThere() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            MigrationResult r = migrateWithFault(nodes, new CancelSignal(),
                    n -> n.a.running(400).orElseThrow().kill());
            assertThat(r.status()).isEqualTo(MigrationResult.Status.FAILED);
            assertThat(String.join("\n", r.log())).contains("is no longer running on node 'a'");
            assertThat(nodes.a.status(400).state()).isEqualTo(LocalNode.State.STOPPED);
            assertThat(nodes.b.status(400).state()).isEqualTo(LocalNode.State.STOPPED);
            assertThat(nodes.store.vm(400).orElseThrow().owner()).isEqualTo("a");
            assertThat(nodes.store.vm(400).orElseThrow().lock()).isNull();
        }
    }

    @Test
    void secondConcurrentMigrationIsRefusedAsLocked() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            CancelSignal cancel = new CancelSignal();
            MigrationResult r = migrateWithFault(nodes, cancel, n -> {
                Throwable e = org.assertj.core.api.Assertions.catchThrowable(() -> n.migrationFromA().run(
                        new MigrationRequest(400, "b", true, false, null, null, null), "task-2", new TaskLog(),
                        new CancelSignal()));
                assertThat(e).isInstanceOf(MigrationRefused.class).hasMessageContaining("locked (migrate)");
                cancel.cancel("test done");
            });
            assertThat(r.status()).isEqualTo(MigrationResult.Status.CANCELLED);
            assertSourceKeptIt(nodes, r);
        }
    }
}
