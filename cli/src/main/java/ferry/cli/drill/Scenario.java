package ferry.cli.drill;

import ferry.testkit.BootblockGuest;
import java.util.List;

/** One fault the drill injects into a running migration, and the migrations it then checks. */
interface Scenario {
    /** Shown in the table and the JSON; says what was done to what, and when. */
    String name();

    /** Injects the fault against the started cluster, using VM ids from {@code firstVmid} on. */
    Run run(DrillCluster cluster, int firstVmid) throws Exception;

    /** How many VM ids the scenario uses. */
    default int vmCount() {
        return 1;
    }

    /**
     * A migration to check once things settle. {@code guestMayCrash}: the fault killed the only
     * QEMU that held the guest's newest state, so a stopped VM is a crash of the guest, not a loss
     * by Ferry.
     */
    record Tracked(int vmid, String task, String source, String target, BootblockGuest guest, boolean guestMayCrash) {}

    /** What the fault did (notes for the report) and what to check. */
    record Run(List<Tracked> tracked, List<String> notes) {}
}
