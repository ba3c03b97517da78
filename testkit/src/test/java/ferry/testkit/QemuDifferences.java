package ferry.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.qapi.QapiJson;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Set;
import java.util.TreeSet;

/** The recorded differences between the binding and QEMU 10 (protocol's qemu-differences.json). */
final class QemuDifferences {
    private static final String RESOURCE = "/ferry/protocol/qemu-differences.json";

    private QemuDifferences() {}

    /** Member or value names under {@code owner} (e.g. "MigrationCapability") of {@code kind} MISSING or EXTRA. */
    static Set<String> names(String owner, String kind) {
        Set<String> out = new TreeSet<>();
        for (JsonNode d : load().path("differences")) {
            String path = d.path("path").asText();
            if (path.startsWith(owner + ".") && d.path("kind").asText().equals(kind)) {
                out.add(path.substring(owner.length() + 1));
            }
        }
        return out;
    }

    private static JsonNode load() {
        try (InputStream in = QemuDifferences.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the test class path");
            }
            return QapiJson.mapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
