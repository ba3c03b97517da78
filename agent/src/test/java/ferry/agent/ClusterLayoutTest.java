package ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import ferry.node.Storage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** storage.json, now written with the API's mapper, keeps the format of the files written before. */
class ClusterLayoutTest {
    @TempDir
    Path dir;

    @Test
    void aStorageFileWrittenBeforeStillReads() throws Exception {
        Path c = Files.createDirectories(dir.resolve("old"));
        // exactly what a plain ObjectMapper's pretty printer wrote for an earlier 'cluster create'
        Files.writeString(c.resolve("storage.json"), "[ {\n  \"id\" : \"local\",\n  \"path\" : \"" + c
                + "/storage/{node}/local\",\n  \"shared\" : false\n}, {\n  \"id\" : \"shared\",\n  \"path\" : \"" + c
                + "/storage/shared\",\n  \"shared\" : true\n} ]");
        Map<String, Storage> b = new ClusterLayout(c).storages("b");
        assertThat(b.keySet()).containsExactly("local", "shared");
        assertThat(b.get("local").path()).isEqualTo(c.resolve("storage/b/local"));
        assertThat(b.get("local").shared()).isFalse();
        assertThat(b.get("shared").path()).isEqualTo(c.resolve("storage/shared"));
        assertThat(b.get("shared").shared()).isTrue();
    }

    @Test
    void aNewStorageFileIsWrittenAsBefore() throws Exception {
        ClusterLayout layout = ClusterLayout.createOnFreePorts(dir.resolve("new"), "t", List.of("a", "b"));
        String written = Files.readString(layout.dir().resolve("storage.json"));
        ObjectMapper before = new ObjectMapper();
        assertThat(written).isEqualTo(before.writerWithDefaultPrettyPrinter().writeValueAsString(before.readTree(written)));
        assertThat(written).contains("\"id\" : \"local\"").contains("\"shared\" : true");
        assertThat(layout.storages("a").get("local").path()).isEqualTo(layout.dir().resolve("storage/a/local"));
    }
}
