package ferry.cli.drill;

import ferry.migration.MigrationStep;
import java.time.Duration;
import java.util.List;
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
     * Whether this kill may have killed the only QEMU with the guest's newest state, judged from
     * the journal as it stood when the signal was sent (a step is journaled before it acts, so a
     * step not yet journaled had not acted): the source while its stream had not completed, or
     * the target once it may have been told to run.
     */
    boolean mayKillTheGuest(List<String> journaledAtSignal) {
        String last = journaledAtSignal.isEmpty() ? "" : journaledAtSignal.get(journaledAtSignal.size() - 1);
        return switch (this) {
            case SOURCE_QEMU -> Set.of(MigrationStep.LOCK, MigrationStep.START_INCOMING, MigrationStep.MIGRATE)
                    .contains(MigrationStep.fromWire(last));
            case TARGET_QEMU -> journaledAtSignal.contains(MigrationStep.RESUME_TARGET.wire());
            default -> false;
        };
    }

    /**
     * Kills it; returns what was killed, or why nothing was. {@code atSignal} runs right after the
     * signal was sent, before the process is seen gone (for a process that is not our child that
     * can take a while), to note what the migration had journaled by then.
     */
    String kill(DrillCluster c, int vmid, String source, String target, Runnable atSignal) throws InterruptedException {
        String node = node(source, target);
        if (isAgent()) {
            c.killAgent(node, atSignal);
            return "killed the agent of node '" + node + "'";
        }
        long deadline = System.nanoTime() + QEMU_APPEARS.toNanos();
        Optional<ProcessHandle> q = c.qemu(node, vmid);
        while (q.isEmpty() && this == TARGET_QEMU && System.nanoTime() < deadline) {
            Thread.sleep(10);
            q = c.qemu(node, vmid);
        }
        if (q.isEmpty()) {
            atSignal.run();
            return "no QEMU of VM " + vmid + " ran on node '" + node + "': nothing to kill";
        }
        q.get().destroyForcibly();
        atSignal.run();
        q.get().onExit().join();
        return "killed QEMU pid " + q.get().pid() + " on node '" + node + "'";
    }
}
