package ferry.cli.drill;

import static ferry.cli.drill.DrillCluster.A;
import static ferry.cli.drill.DrillCluster.B;

import ferry.migration.MigrationStep;
import ferry.testkit.etcd.EtcdServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * kill -9 of the cluster's etcd as soon as the migration journals {@code step}, started again on
 * the same data {@code down} later: the agents' store calls wait for it, so the migration
 * completes (or is cleaned up), and nothing is lost.
 */
record EtcdOutage(MigrationStep step, Duration down) implements Scenario {
    private static final Duration REACH = Duration.ofSeconds(90);

    static EtcdOutage at(MigrationStep step) {
        return new EtcdOutage(step, Duration.ofSeconds(5));
    }

    @Override
    public String name() {
        return "kill -9 etcd at " + step.wire() + ", back after " + down.toSeconds() + " s";
    }

    @Override
    public Run run(DrillCluster c, int vmid) throws Exception {
        EtcdServer etcd = c.etcd();
        if (etcd == null) {
            throw new IllegalStateException("this drill cluster keeps its records in a folder, not in etcd");
        }
        c.bootVm(vmid, A, MigrationOptions.CALM);
        String task = c.migrate(vmid, A, B, MigrationOptions.PRECOPY);
        List<String> notes = new ArrayList<>();
        if (!c.journals().awaitStep(task, step.wire(), REACH)) {
            notes.add("the migration never journaled '" + step.wire() + "' (journal: " + c.journals().kinds(task)
                    + "): etcd was not killed");
        } else {
            List<String> before = c.journals().kinds(task);
            etcd.kill();
            notes.add("killed etcd after: " + String.join(", ", before));
            Thread.sleep(down.toMillis());
            etcd.restart();
            notes.add("etcd back after " + down.toSeconds() + " s");
        }
        return new Run(List.of(new Tracked(vmid, task, A, B, MigrationOptions.CALM, false)), notes);
    }
}
