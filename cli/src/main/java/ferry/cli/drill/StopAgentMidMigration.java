package ferry.cli.drill;

import static ferry.cli.drill.DrillCluster.A;
import static ferry.cli.drill.DrillCluster.B;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An agent stopped the polite way (SIGTERM, as {@code ferry cluster down} does) a second into
 * pre-copy, then started again: the migration must finish or clean up, never leave a lock.
 */
record StopAgentMidMigration(Victim which) implements Scenario {
    @Override
    public String name() {
        return "SIGTERM " + which.label() + " mid pre-copy, start it again";
    }

    @Override
    public Run run(DrillCluster c, int vmid) throws Exception {
        c.bootVm(vmid, A, MigrationOptions.CALM);
        String task = c.migrate(vmid, A, B, MigrationOptions.PRECOPY);
        List<String> notes = new ArrayList<>();
        if (c.journals().awaitStep(task, "migrate", Duration.ofSeconds(90))) {
            Thread.sleep(1000);
            String node = which.node(A, B);
            long t0 = System.nanoTime();
            boolean clean = c.stopAgent(node);
            notes.add("stopped the agent of node '" + node + "' in " + (System.nanoTime() - t0) / 1_000_000 + " ms"
                    + (clean ? "" : " (it did not stop in time and was killed)"));
            c.startAgent(node);
            notes.add("started it again");
        } else {
            notes.add("the migration never journaled 'migrate' (journal: " + c.journals().kinds(task) + ")");
        }
        return new Run(List.of(new Tracked(vmid, task, A, B, MigrationOptions.CALM, false)), notes);
    }
}
