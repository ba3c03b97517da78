package ferry.migration.recovery;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.MigrationStep;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What recovery reads back from a journal's entries. */
class JournalStateTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode entry(MigrationStep step) {
        return JSON.createObjectNode().put("kind", step.wire()).put("vmid", 100).put("source", "a").put("target", "b");
    }

    @Test
    void thePostcopyLimitIsReadFromTheStepThatStartedPostcopy() {
        var j = JournalState.of("t", List.of(entry(MigrationStep.LOCK).put("online", true), entry(MigrationStep.MIGRATE),
                entry(MigrationStep.START_POSTCOPY).put("postcopy_bandwidth", 32L << 20)));
        assertThat(j.postcopyBandwidth()).isEqualTo(32L << 20);
        assertThat(j.online()).isTrue();
    }

    @Test
    void aJournalOfAnOlderFerryHasNoPostcopyLimit() {
        var j = JournalState.of("t", List.of(entry(MigrationStep.LOCK), entry(MigrationStep.START_POSTCOPY)));
        assertThat(j.postcopyBandwidth()).isEqualTo(-1);
        assertThat(JournalState.of("t", List.of(entry(MigrationStep.LOCK))).postcopyBandwidth()).isEqualTo(-1);
    }
}
