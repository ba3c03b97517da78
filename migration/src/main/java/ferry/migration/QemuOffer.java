package ferry.migration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.qemu.QemuFeatures;
import ferry.node.NodeException;
import ferry.node.QemuBinary;
import ferry.node.QemuProcess;
import ferry.protocol.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a node's QEMU offers a migration, asked of that QEMU (a throwaway one without a guest):
 * its migration capabilities and parameters, the multifd compression methods it was built with,
 * and its machine types (names and aliases). What a source may ask of a target is checked against
 * it in prepare, so a QEMU of another version is refused before anything starts.
 */
public record QemuOffer(String version, Set<String> capabilities, Set<String> parameters, Set<String> compressions,
                        Set<String> machines) {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** By binary: one QEMU start per installation and process (the answers depend only on the binary). */
    private static final Map<Path, QemuOffer> ASKED = new ConcurrentHashMap<>();

    public QemuOffer {
        capabilities = Set.copyOf(capabilities);
        parameters = Set.copyOf(parameters);
        compressions = Set.copyOf(compressions);
        machines = Set.copyOf(machines);
    }

    public static QemuOffer of(QemuBinary qemu) {
        return ASKED.computeIfAbsent(qemu.path(), p -> ask(qemu));
    }

    private static QemuOffer ask(QemuBinary qemu) {
        Path scratch;
        try {
            scratch = Files.createTempDirectory("ferry-qemu-offer");
        } catch (IOException e) {
            throw new NodeException("cannot make a scratch folder to ask QEMU " + qemu.version() + ": " + e.getMessage(), e);
        }
        try (QemuProcess q = QemuProcess.builder(qemu, scratch).name("ferry-offer").machine("none").memoryMiB(16)
                .start()) {
            Set<String> params = new TreeSet<>();
            q.qmp().execute(Commands.QUERY_MIGRATE_PARAMETERS, null).fieldNames().forEachRemaining(params::add);
            Set<String> machines = new TreeSet<>();
            // raw: the reply's members differ between versions (7.2 has no 'acpi')
            for (JsonNode m : q.qmp().execute("query-machines", null)) {
                machines.add(m.path("name").asText());
                if (m.hasNonNull("alias")) {
                    machines.add(m.path("alias").asText());
                }
            }
            return new QemuOffer(qemu.version(), QemuFeatures.capabilitiesOf(q), params,
                    QemuFeatures.compressions(q.qmp().execute(Commands.QUERY_QMP_SCHEMA, null)), machines);
        } finally {
            try (var files = Files.walk(scratch)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException ignored) {
                // a scratch folder left in /tmp is harmless
            }
        }
    }

    /** As the target's features, to check a tuning against. */
    public QemuFeatures features(String node) {
        return new QemuFeatures(node, version, capabilities, parameters, compressions);
    }

    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode().put("version", version);
        o.set("capabilities", JSON.valueToTree(new TreeSet<>(capabilities)));
        o.set("parameters", JSON.valueToTree(new TreeSet<>(parameters)));
        o.set("compressions", JSON.valueToTree(new TreeSet<>(compressions)));
        o.set("machines", JSON.valueToTree(new TreeSet<>(machines)));
        return o;
    }

    public static QemuOffer fromJson(JsonNode o) {
        return new QemuOffer(o.path("version").asText(), strings(o.path("capabilities")), strings(o.path("parameters")),
                strings(o.path("compressions")), strings(o.path("machines")));
    }

    private static Set<String> strings(JsonNode a) {
        Set<String> out = new TreeSet<>();
        a.forEach(s -> out.add(s.asText()));
        return out;
    }
}
