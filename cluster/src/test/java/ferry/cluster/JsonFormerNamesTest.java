package ferry.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The cluster file is written in snake_case; one written before (camelCase addresses) still reads. */
class JsonFormerNamesTest {
    @Test
    void clusterFilesOfBothSpellingsRead() throws Exception {
        String former = "{\"name\":\"c\",\"token\":\"t\",\"nodes\":[{\"name\":\"a\",\"agentAddress\":\"127.0.0.1:8101\","
                + "\"migrationAddress\":\"127.0.0.1\"}]}";
        ClusterConfig c = Json.cluster(former.getBytes(StandardCharsets.UTF_8));
        assertThat(c.node("a").orElseThrow().agentAddress()).isEqualTo("127.0.0.1:8101");
        String written = new String(Json.cluster(c), StandardCharsets.UTF_8);
        assertThat(written).contains("\"agent_address\"", "\"migration_address\"").doesNotContain("agentAddress");
        assertThat(Json.cluster(written.getBytes(StandardCharsets.UTF_8))).isEqualTo(c);
    }
}
