package ferry.cli.drill;

import static ferry.cli.drill.DrillCluster.A;
import static ferry.cli.drill.DrillCluster.B;

import ferry.testkit.BootblockGuest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The migration link cut for two seconds: during pre-copy (the migration must fail cleanly and
 * the guest stay on the source, or go on once the link is back) or during postcopy (both sides
 * pause and recover the stream; neither may be killed). On loopback the target QEMU's TCP
 * connections are destroyed ({@link LinkCutter}); on hosts the target host's link goes down.
 */
record LinkCut(boolean postcopy) implements Scenario {
    private static final Duration OUTAGE = Duration.ofSeconds(2);

    @Override
    public String name() {
        return "cut the link for " + OUTAGE.toSeconds() + " s during " + (postcopy ? "postcopy" : "pre-copy");
    }

    @Override
    public Run run(DrillCluster c, int vmid) throws Exception {
        BootblockGuest guest = postcopy ? MigrationOptions.HOT : MigrationOptions.CALM;
        c.bootVm(vmid, A, guest);
        String task = c.migrate(vmid, A, B, postcopy ? MigrationOptions.POSTCOPY : MigrationOptions.PRECOPY);
        List<String> notes = new ArrayList<>();
        String step = postcopy ? "start-postcopy" : "migrate";
        if (!c.journals().awaitStep(task, step, Duration.ofSeconds(120))) {
            notes.add("the migration never journaled '" + step + "' (journal: " + c.journals().kinds(task)
                    + "): the link was not cut");
        } else {
            Thread.sleep(postcopy ? 300 : 1000);
            Optional<ProcessHandle> target = c.qemu(B, vmid);
            if (c.net() != null) {
                // on hosts: the target host's link goes down, as when a cable is pulled
                c.net().cut(B);
                try {
                    Thread.sleep(OUTAGE.toMillis());
                } finally {
                    c.net().restore(B);
                }
                notes.add("set the link of host b down for " + OUTAGE.toSeconds() + " s (ip link set down)");
            } else if (target.isEmpty()) {
                notes.add("no target QEMU to cut the link of");
            } else {
                int cut = LinkCutter.cut(target.get().pid(), OUTAGE);
                notes.add("cut " + cut + " migration connection(s) of the target QEMU, for " + OUTAGE.toSeconds() + " s");
            }
        }
        return new Run(List.of(new Tracked(vmid, task, A, B, guest, false)), notes);
    }
}
