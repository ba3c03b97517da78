package ferry.agent.evacuate;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.agent.evacuate.EvacuationRow.Overall;
import java.util.List;
import org.junit.jupiter.api.Test;

/** An evacuation's overall outcome from its rows: a VM left behind outweighs one not known yet, which outweighs problems. */
class EvacuationRowTest {
    private static EvacuationRow row(int vmid, String outcome) {
        return EvacuationRow.notSent(vmid, "vm" + vmid, true, outcome, null, null);
    }

    @Test
    void overallOutcomes() {
        assertThat(EvacuationRow.overall(List.of())).isEqualTo(Overall.COMPLETED);
        assertThat(EvacuationRow.overall(List.of(row(1, "completed"), row(2, "skipped"), row(3, "already-moved"))))
                .isEqualTo(Overall.COMPLETED);
        assertThat(EvacuationRow.overall(List.of(row(1, "completed"), row(2, "problems")))).isEqualTo(Overall.PROBLEMS);
        assertThat(EvacuationRow.overall(List.of(row(1, "problems"), row(2, "handover-pending"))))
                .isEqualTo(Overall.UNKNOWN);
        assertThat(EvacuationRow.overall(List.of(row(1, "unknown"), row(2, "refused")))).isEqualTo(Overall.FAILED);
        for (String left : List.of("failed", "not-converged", "aborted", "cancelled", "refused", "no-target", "locked",
                "not-started")) {
            assertThat(EvacuationRow.overall(List.of(row(1, "completed"), row(2, left)))).as(left)
                    .isEqualTo(Overall.FAILED);
            assertThat(row(2, left).failed()).isTrue();
        }
        assertThat(row(1, "skipped").failed()).isFalse();
        assertThat(row(1, "skipped").moved()).isFalse();
    }
}
