package ferry.migration.phase;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** QEMU's postcopy downtime, read the way QEMU 10 records it (figures from a CI run of PolicyTest). */
class PostcopyDowntimeTest {
    @Test
    void aDowntimeThatSpansTheWholePostcopyPhaseIsQemusZero() {
        // switch seen at 2201 ms of QEMU's total time (the stop came just before), completed at 3109 ms, "downtime 908 ms"
        assertThat(Phase2.postcopyDowntime(908L, 3109L, 2201L)).isZero();
    }

    @Test
    void aRealSwitchOverIsKept() {
        assertThat(Phase2.postcopyDowntime(2L, 3109L, 2150L)).isEqualTo(2L);
        assertThat(Phase2.postcopyDowntime(250L, 3109L, 2150L)).isEqualTo(250L);
    }

    @Test
    void withoutTheFiguresNothingIsGuessed() {
        assertThat(Phase2.postcopyDowntime(null, 3109L, 2150L)).isNull();
        assertThat(Phase2.postcopyDowntime(908L, 3109L, null)).isEqualTo(908L);
    }
}
