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
        List<KnownDifference> out = new ArrayList<>();
        for (JsonNode d : differencesFile().path("differences")) {
            out.add(new KnownDifference(d.path("path").asText(), Conformance.Kind.valueOf(d.path("kind").asText()),
                    d.path("reason").asText()));
        }
        return out;
    }

    private static JsonNode differencesFile() {
        try (InputStream in = Binding.class.getResourceAsStream("qemu-differences.json")) {
            if (in == null) {
                throw new IllegalStateException("qemu-differences.json is missing from the ferry-protocol jar");
            }
            return QapiJson.mapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
