package ferry.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.qapi.Conformance;
import ferry.qapi.QapiJson;
import ferry.qapi.Schema;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The schema this binding was generated from, and how it is known to differ from QEMU 10.0:
 * the seed is QEMU 8.2's migration.json, and QEMU dropped and added members since.
 */
public final class Binding {
    /** Files whose definitions claim all of QEMU's members: there, QEMU's extra members are reported too. */
    public static final Set<String> COMPLETE_FILES = Set.of("migration.json");
    private static final String FOLDER = "ferry/protocol/schema";

    /** One recorded difference between the binding and the QEMU version it was checked against. */
    public record KnownDifference(String path, Conformance.Kind kind, String reason) {}

    private static volatile Schema schema;

    private Binding() {}

    /** The binding's schema, parsed from the copy shipped in this jar. */
    public static Schema schema() {
        Schema s = schema;
        if (s == null) {
            s = Schema.loadResource(Binding.class.getClassLoader(), FOLDER, "ferry.json");
            schema = s;
        }
        return s;
    }

    /** Checks the binding against a QEMU's {@code query-qmp-schema} answer. */
    public static Conformance.Report check(JsonNode introspection) {
        return Conformance.check(schema(), introspection, COMPLETE_FILES);
    }

    /** The QEMU version the known differences were recorded against, e.g. "10.0". */
    public static String differencesRecordedFor() {
        return differencesFile().path("qemu").asText();
    }

    /** Every difference between the binding and QEMU {@link #differencesRecordedFor()}, with its reason. */
    public static List<KnownDifference> knownDifferences() {
        return differencesIn(differencesFile());
    }

    /** The older QEMU releases whose differences are recorded too (a file qemu-VERSION-differences.json each). */
    public static final List<String> OLDER_RECORDED = List.of("7.2");

    /**
     * The differences recorded for QEMU {@code majorMinor} (e.g. "7.2": what it lacks of the binding,
     * with the release that brought each); the 10.0 ones for any release without a file of its own.
     */
    public static List<KnownDifference> knownDifferences(String majorMinor) {
        return OLDER_RECORDED.contains(majorMinor) ? differencesIn(olderFile(majorMinor)) : knownDifferences();
    }

    /** The bound commands QEMU {@code majorMinor} does not have, as recorded (empty for 10.0). */
    public static List<String> commandsMissingIn(String majorMinor) {
        List<String> out = new ArrayList<>();
        if (OLDER_RECORDED.contains(majorMinor)) {
            olderFile(majorMinor).path("commands_missing").forEach(c -> out.add(c.path("name").asText()));
        }
        return out;
    }

    private static JsonNode olderFile(String majorMinor) {
        return resource("qemu-" + majorMinor + "-differences.json");
    }

    private static List<KnownDifference> differencesIn(JsonNode file) {
        List<KnownDifference> out = new ArrayList<>();
        for (JsonNode d : file.path("differences")) {
            out.add(new KnownDifference(d.path("path").asText(), Conformance.Kind.valueOf(d.path("kind").asText()),
                    d.path("reason").asText()));
        }
        return out;
    }

    private static JsonNode differencesFile() {
        return resource("qemu-differences.json");
    }

    private static JsonNode resource(String name) {
        try (InputStream in = Binding.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " is missing from the ferry-protocol jar");
            }
            return QapiJson.mapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
