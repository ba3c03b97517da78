package ferry.cli.drill;

import ferry.migration.MigrationStep;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/** What the drill kills -9: either node's agent or either node's QEMU of the migrating VM. */
enum Victim {
    SOURCE_AGENT("source agent"),
    TARGET_AGENT("target agent"),
    SOURCE_QEMU("source QEMU"),
    TARGET_QEMU("target QEMU");

    /** A target QEMU is started just after its step is journaled: give it this long to appear. */
    private static final Duration QEMU_APPEARS = Duration.ofSeconds(5);

    private final String label;

    Victim(String label) {
        this.label = label;
    }

    String label() {
        return label;
    }

    boolean isAgent() {
        return this == SOURCE_AGENT || this == TARGET_AGENT;
    }

    String node(String source, String target) {
        return this == SOURCE_AGENT || this == SOURCE_QEMU ? source : target;
    }

    /**
     * Whether killing this at {@code step} may kill the only QEMU with the guest's newest state:
     * the source before its stream completed, or the target once it was told to run the guest.
     */
    boolean killsTheGuestAt(MigrationStep step) {
        Set<MigrationStep> beforeStreamDone = EnumSet.of(MigrationStep.LOCK, MigrationStep.START_INCOMING,
                MigrationStep.MIGRATE);
        Set<MigrationStep> afterResume = EnumSet.of(MigrationStep.RESUME_TARGET, MigrationStep.TARGET_RUNNING,
                MigrationStep.STOP_SOURCE, MigrationStep.UNLOCK);
        return switch (this) {
            case SOURCE_QEMU -> beforeStreamDone.contains(step);
            case TARGET_QEMU -> afterResume.contains(step);
            default -> false;
        };
    }

    /** Kills it; returns what was killed, or why nothing was. */
    String kill(DrillCluster c, int vmid, String source, String target) throws InterruptedException {
        String node = node(source, target);
        if (isAgent()) {
            c.killAgent(node);
            return "killed the agent of node '" + node + "'";
        }
        long deadline = System.nanoTime() + QEMU_APPEARS.toNanos();
        Optional<ProcessHandle> q = c.qemu(node, vmid);
        while (q.isEmpty() && this == TARGET_QEMU && System.nanoTime() < deadline) {
            Thread.sleep(10);
            q = c.qemu(node, vmid);
        }
        if (q.isEmpty()) {
            return "no QEMU of VM " + vmid + " ran on node '" + node + "': nothing to kill";
        }
        q.get().destroyForcibly();
        q.get().onExit().join();
        return "killed QEMU pid " + q.get().pid() + " on node '" + node + "'";
    }
}
