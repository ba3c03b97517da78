package ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** An evacuation's exit code from its rows: a VM left behind outweighs one not known yet, which outweighs problems. */
class EvacuationRowTest {
    private static EvacuationRow row(int vmid, String outcome) {
        return EvacuationRow.notSent(vmid, "vm" + vmid, true, outcome, null, null);
    }

    @Test
    void exitCodes() {
        assertThat(EvacuationRow.exitCode(List.of())).isEqualTo(Main.OK);
        assertThat(EvacuationRow.exitCode(List.of(row(1, "completed"), row(2, "skipped"), row(3, "already-moved"))))
                .isEqualTo(Main.OK);
        assertThat(EvacuationRow.exitCode(List.of(row(1, "completed"), row(2, "problems")))).isEqualTo(Main.PROBLEMS);
        assertThat(EvacuationRow.exitCode(List.of(row(1, "problems"), row(2, "handover-pending"))))
                .isEqualTo(Main.UNKNOWN);
        assertThat(EvacuationRow.exitCode(List.of(row(1, "unknown"), row(2, "refused")))).isEqualTo(Main.FAILED);
        for (String left : List.of("failed", "not-converged", "aborted", "cancelled", "refused", "no-target", "locked")) {
            assertThat(EvacuationRow.exitCode(List.of(row(1, "completed"), row(2, left)))).as(left).isEqualTo(Main.FAILED);
            assertThat(row(2, left).failed()).isTrue();
        }
        assertThat(row(1, "skipped").failed()).isFalse();
        assertThat(row(1, "skipped").moved()).isFalse();
    }
}
