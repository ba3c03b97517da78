package ferry.migration.phase;

import ferry.migration.MigrationStep;
import ferry.migration.TargetNode;
import ferry.migration.TaskLog;
import ferry.migration.recovery.Journal;
import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.protocol.Commands;
import ferry.protocol.MigrateArgs;
import ferry.protocol.MigrationInfo;

/**
 * Brings a paused postcopy back (invariant 4: a broken link pauses both sides, it never kills
 * either): retries once a second until {@code waitS} pass, making the target listen again
 * ({@code migrate-recover}, out of band) and resuming the source ({@code migrate … resume}).
 */
public final class PostcopyRecovery implements Phase2Monitor.Recovery {
    static final long RETRY_MS = 1000;

    private final TargetNode target;
    private final LocalNode source;
    private final int vmid;
    private final TaskLog log;
    private final Journal journal;
    private final int waitS;
    private long deadline;
    private int attempts;

    public PostcopyRecovery(TargetNode target, LocalNode source, int vmid, TaskLog log, Journal journal, int waitS) {
        this.target = target;
        this.source = source;
        this.vmid = vmid;
        this.log = log;
        this.journal = journal;
        this.waitS = waitS;
    }

    @Override
    public void recover(MigrationInfo paused) {
        long now = System.nanoTime();
        if (deadline == 0) {
            deadline = now + waitS * 1_000_000_000L;
            log.error("postcopy paused: the link to node '%s' broke (%s); waiting up to %d s for it to come back",
                    journal.target(), paused.errorDesc() == null ? "no reason given" : paused.errorDesc(), waitS);
            journal.step(MigrationStep.POSTCOPY_PAUSED, "postcopy paused");
        } else if (now > deadline) {
            throw new Phase2Monitor.MigrationFailed("the link to node '" + journal.target() + "' did not come back within "
                    + waitS + " s; both QEMUs wait paused");
        } else {
            Sleep.quietly(RETRY_MS);
        }
        attempts++;
        try {
            TargetNode.Endpoint ep = target.recover(vmid);
            QemuProcess src = source.running(vmid).orElseThrow(() -> new Phase2Monitor.MigrationFailed(
                    "the source QEMU of VM " + vmid + " is gone; the rest of its memory is lost"));
            src.qmp().call(Commands.MIGRATE, MigrateArgs.builder().uri(ep.uri()).resume(true).build());
            log.info("postcopy recovery attempt %d: target listens at %s, source resumes", attempts, ep.uri());
            awaitLeavingPause(src);
        } catch (Phase2Monitor.MigrationFailed e) {
            throw e;
        } catch (RuntimeException e) {
            if (attempts == 1 || attempts % 10 == 0) {
                log.info("postcopy recovery attempt %d failed: %s", attempts, e.getMessage());
            }
        }
    }

    /** A resume either connects (status moves on) or falls back to postcopy-paused; wait for either. */
    private static void awaitLeavingPause(QemuProcess src) {
        for (int i = 0; i < 50; i++) {
            // raw: postcopy-recover-setup is newer than the binding's statuses
            String st = src.qmp().execute(Commands.QUERY_MIGRATE, null).path("status").asText();
            if (!st.equals("postcopy-paused") && !st.equals("postcopy-recover-setup")) {
                return;
            }
            Sleep.quietly(100);
        }
    }
}
