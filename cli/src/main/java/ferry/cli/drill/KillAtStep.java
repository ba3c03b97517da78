package ferry.cli.drill;

import static ferry.cli.drill.DrillCluster.A;
import static ferry.cli.drill.DrillCluster.B;

import ferry.migration.MigrationStep;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * kill -9 of one process as soon as the migration's journal shows {@code step} (the step is
 * journaled before it acts, so the kill lands just before or just after it), or {@code delay}
 * later; a killed agent is started again after {@code restartAfter}. A killed QEMU is not: the
 * guest it ran crashed.
 */
record KillAtStep(Victim victim, MigrationStep step, Duration delay, Duration restartAfter) implements Scenario {
    /** How long a migration may take to reach the step. */
    private static final Duration REACH = Duration.ofSeconds(90);

    static KillAtStep at(Victim victim, MigrationStep step) {
        // a target agent comes back only after a few retries of the hand-over; a source agent at once
        Duration restart = victim == Victim.TARGET_AGENT ? Duration.ofSeconds(5) : Duration.ZERO;
        // 'migrate' is journaled before the stream starts: a second later the kill is mid pre-copy
        Duration delay = step == MigrationStep.MIGRATE ? Duration.ofSeconds(1) : Duration.ZERO;
        return new KillAtStep(victim, step, delay, restart);
    }

    @Override
    public String name() {
        return "kill -9 " + victim.label() + " at " + step.wire() + (delay.isZero() ? "" : " +" + delay.toMillis() + "ms");
    }

    @Override
    public Run run(DrillCluster c, int vmid) throws Exception {
        c.bootVm(vmid, A, MigrationOptions.CALM);
        String task = c.migrate(vmid, A, B, MigrationOptions.PRECOPY);
        List<String> notes = new ArrayList<>();
        boolean guestMayCrash = false;
        if (!c.journals().awaitStep(task, step.wire(), REACH)) {
            notes.add("the migration never journaled '" + step.wire() + "' (journal: " + c.journals().kinds(task)
                    + "): nothing was killed");
        } else {
            Thread.sleep(delay.toMillis());
            // the kill lands a few ms after the entry: the journal at the signal says which steps it can have hit
            List<List<String>> atSignal = new ArrayList<>();
            notes.add(victim.kill(c, vmid, A, B, () -> atSignal.add(c.journals().kinds(task))));
            guestMayCrash = victim.mayKillTheGuest(atSignal.get(0));
            notes.add("journal when the signal was sent: " + String.join(", ", atSignal.get(0)));
            if (victim.isAgent()) {
                Thread.sleep(restartAfter.toMillis());
                c.startAgent(victim.node(A, B));
                notes.add("started it again " + restartAfter.toSeconds() + " s later");
            }
        }
        return new Run(List.of(new Tracked(vmid, task, A, B, MigrationOptions.CALM, guestMayCrash)),
                notes);
    }
}
