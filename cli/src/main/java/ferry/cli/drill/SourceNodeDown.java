package ferry.cli.drill;

import static ferry.cli.drill.DrillCluster.A;
import static ferry.cli.drill.DrillCluster.B;

import ferry.migration.MigrationStep;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The source node goes down for a while (kill -9 of its agent at {@code step}, not started again
 * until the target acted): its liveness claim lapses, and the target's agent must do its part
 * alone — here the stream completes (by itself, if the agent died mid pre-copy), so the target
 * must take the guest on and run it, with the source's copy never resumed. Then the source node
 * comes back and its agent finishes the rest (stop its copy, drop the lock, close the journal).
 */
record SourceNodeDown(MigrationStep step, Duration delay) implements Scenario {
    private static final Duration REACH = Duration.ofSeconds(90);
    /** Lease time to live, the peer's grace, a scan, and a stream that finishes without its agent. */
    private static final Duration PEER_ACTS = Duration.ofSeconds(60);

    static SourceNodeDown at(MigrationStep step) {
        return new SourceNodeDown(step, step == MigrationStep.MIGRATE ? Duration.ofSeconds(1) : Duration.ZERO);
    }

    @Override
    public String name() {
        return "source node down at " + step.wire() + (delay.isZero() ? "" : " +" + delay.toMillis() + "ms");
    }

    @Override
    public Run run(DrillCluster c, int vmid) throws Exception {
        c.bootVm(vmid, A, MigrationOptions.CALM);
        String task = c.migrate(vmid, A, B, MigrationOptions.PRECOPY);
        List<String> notes = new ArrayList<>();
        if (!c.journals().awaitStep(task, step.wire(), REACH)) {
            throw new IllegalStateException("the migration never journaled '" + step.wire() + "' (journal: "
                    + c.journals().kinds(task) + ")");
        }
        Thread.sleep(delay.toMillis());
        long killed = System.nanoTime();
        c.killAgent(A, () -> notes.add("killed the agent of node 'a' after: "
                + String.join(", ", c.journals().kinds(task))));
        if (!c.journals().awaitStep(task, MigrationStep.PEER_DONE.wire(), PEER_ACTS)) {
            throw new IllegalStateException("node 'a' was down " + PEER_ACTS.toSeconds() + " s and the agent of node 'b' "
                    + "did not take the migration on (journal: " + c.journals().kinds(task) + ")");
        }
        long tookMs = (System.nanoTime() - killed) / 1_000_000;
        var onB = c.qemuState(B, vmid);
        var onA = c.qemuState(A, vmid);
        if (onB == null || !onB.path("run_state").asText().equals("running")) {
            throw new IllegalStateException("the target's agent says it took the guest on, but VM " + vmid
                    + " does not run on node 'b' (" + onB + ")");
        }
        if (onA != null && onA.path("run_state").asText().equals("running")) {
            throw new IllegalStateException("VM " + vmid + " runs on both nodes while node 'a' is down");
        }
        notes.add("node 'b' ran the guest " + tookMs + " ms after node 'a' went down (lease "
                + DrillCluster.LEASE_TTL_S + " s): " + String.join(", ", c.journals().kinds(task)));
        c.startAgent(A);
        notes.add("node 'a' came back");
        return new Run(List.of(new Tracked(vmid, task, A, B, MigrationOptions.CALM, false)), notes);
    }
}
