package ferry.cli.drill;

import static ferry.cli.drill.DrillCluster.A;
import static ferry.cli.drill.DrillCluster.B;

import java.util.List;

/** Two live migrations at once: both from a to b, or crossing (a to b while another goes b to a). */
record TwoMigrations(boolean crossing) implements Scenario {
    @Override
    public String name() {
        return crossing ? "crossing migrations a->b and b->a" : "concurrent migrations a->b twice";
    }

    @Override
    public int vmCount() {
        return 2;
    }

    @Override
    public Run run(DrillCluster c, int vmid) throws Exception {
        String secondFrom = crossing ? B : A;
        c.bootVm(vmid, A, MigrationOptions.CALM);
        c.bootVm(vmid + 1, secondFrom, MigrationOptions.CALM);
        String first = c.migrate(vmid, A, B, MigrationOptions.PRECOPY);
        String second = c.migrate(vmid + 1, secondFrom, DrillCluster.other(secondFrom), MigrationOptions.PRECOPY);
        return new Run(List.of(new Tracked(vmid, first, A, B, MigrationOptions.CALM, false),
                new Tracked(vmid + 1, second, secondFrom, DrillCluster.other(secondFrom), MigrationOptions.CALM, false)),
                List.of("both started together"));
    }
}
