package ferry.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** A VM definition's JSON: snake_case keys; records stored before (kebab-case migration defaults) still read. */
class VmDefinitionJsonTest {
    private final ObjectMapper json = new ObjectMapper();

    @Test
    void migrationDefaultsAreSnakeCaseAndFormerNamesStillRead() throws Exception {
        VmDefinition former = json.readValue("{\"vmid\":100,\"name\":\"a\",\"memory\":64,"
                + "\"migration\":{\"downtime-ms\":100,\"speed-mib\":1000}}", VmDefinition.class);
        assertThat(former.migration().downtimeMs()).isEqualTo(100);
        assertThat(former.migration().speedMiBps()).isEqualTo(1000);
        String written = json.writeValueAsString(former);
        assertThat(written).contains("\"downtime_ms\":100", "\"speed_mib\":1000").doesNotContain("-ms");
        assertThat(json.readValue(written, VmDefinition.class)).isEqualTo(former);
    }

    @Test
    void aRecordWithAFieldThisVersionDoesNotKnowStillReads() throws Exception {
        var record = json.readTree("{\"vmid\":100,\"name\":\"a\",\"memory\":64,\"vcpus\":2,\"hugepages\":true}");
        assertThat(VmDefinition.fromRecord(record).vcpus()).isEqualTo(2);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> json.treeToValue(record, VmDefinition.class))
                .hasMessageContaining("hugepages");
    }
}
