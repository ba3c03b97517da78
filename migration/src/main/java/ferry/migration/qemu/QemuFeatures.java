package ferry.migration.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.Tuning;
import ferry.migration.policy.StreamSetup;
import ferry.node.QemuProcess;
import ferry.protocol.Commands;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one running QEMU offers for migration, asked of QEMU itself (introspection, not its
 * version number), and what the user's tuning would need from it.
 */
public record QemuFeatures(String node, String version, Set<String> capabilities, Set<String> parameters,
                           Set<String> compressions) {
    /** The QEMU release that brought each item, for messages about an older QEMU. */
    private static final Map<String, String> SINCE = Map.of("multifd", "4.0", "zero-page-detection", "9.0",
            "switchover-ack", "8.1", "avail-switchover-bandwidth", "8.2", "dirty-limit", "8.1",
            "postcopy-preempt", "7.2", "multifd-compression", "5.0", "mapped-ram", "9.0", "multifd-qatzip-level", "9.2");

    /** @param compressions whether to read the compression methods too (from the whole schema: only when asked) */
    public static QemuFeatures of(QemuProcess q, String node, String version, boolean compressions) {
        Set<String> params = new LinkedHashSet<>();
        q.qmp().execute(Commands.QUERY_MIGRATE_PARAMETERS, null).fieldNames().forEachRemaining(params::add);
        return new QemuFeatures(node, version, capabilitiesOf(q), params,
                compressions && params.contains("multifd-compression")
                        ? compressions(q.qmp().execute(Commands.QUERY_QMP_SCHEMA, null)) : Set.of());
    }

    /**
     * The values of {@code migrate-set-parameters}' multifd-compression in this QEMU's schema:
     * which of them exist depends on the libraries QEMU was built with.
     */
    public static Set<String> compressions(JsonNode schema) {
        Map<String, JsonNode> byName = new HashMap<>();
        schema.forEach(e -> byName.put(e.path("name").asText(), e));
        JsonNode args = byName.get(byName.getOrDefault("migrate-set-parameters", missing()).path("arg-type").asText());
        Set<String> out = new LinkedHashSet<>();
        if (args == null) {
            return out;
        }
        for (JsonNode m : args.path("members")) {
            if (m.path("name").asText().equals("multifd-compression")) {
                JsonNode type = byName.get(m.path("type").asText());
                if (type != null) {
                    type.path("values").forEach(v -> out.add(v.asText()));
                }
            }
        }
        return out;
    }

    private static JsonNode missing() {
        return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
    }

    /**
     * Why this QEMU cannot throttle with dirty-limit, in QEMU's words (it needs KVM with a dirty
     * ring); null when it can. Asks by turning the capability on and off again: call it only while
     * no migration runs.
     */
    public static String dirtyLimitProblem(QemuProcess q) {
        if (!capabilitiesOf(q).contains("dirty-limit")) {
            return "this QEMU has no dirty-limit capability (QEMU 8.1 and newer have it)";
        }
        try {
            q.qmp().execute(Commands.MIGRATE_SET_CAPABILITIES, StreamSetup.capabilityArgs(
                    Map.of("auto-converge", false, "dirty-limit", true)));
        } catch (ferry.qmp.QmpCommandException e) {
            return e.description();
        }
        q.qmp().execute(Commands.MIGRATE_SET_CAPABILITIES, StreamSetup.capabilityArgs(Map.of("dirty-limit", false)));
        return null;
    }

    /**
     * The machine type this QEMU runs, e.g. {@code pc-i440fx-7.2} for a VM defined with "pc": what
     * the target must start, whatever the alias means on the target's QEMU.
     */
    public static String machineOf(QemuProcess q) {
        ObjectNode args = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode()
                .put("path", "/machine").put("property", "type");
        String type = q.qmp().execute("qom-get", args).asText();
        return type.endsWith("-machine") ? type.substring(0, type.length() - "-machine".length()) : type;
    }

    /** What the tuning needs that this QEMU, the source, lacks, in words naming the option; empty when it has it all. */
    public List<String> lacks(Tuning t) {
        return lacks(t, false);
    }

    /**
     * @param target this QEMU receives: only what the stream's format depends on counts
     *               (throttles, switch-over bandwidth and the pause act on the source alone)
     */
    List<String> lacks(Tuning t, boolean target) {
        List<String> out = new ArrayList<>();
        if (t.multifd()) {
            needCap(out, "multifd", "--multifd");
        }
        if (t.compressed()) {
            needParam(out, "multifd-compression", "--compress");
            if (parameters.contains("multifd-compression") && !compressions.contains(t.compression())) {
                out.add(where() + " was built without " + t.compression() + " compression (--compress); it offers "
                        + String.join(", ", new java.util.TreeSet<>(compressions)));
            }
        }
        if (t.compressionLevel() != null && t.compressed()) {
            needParam(out, "multifd-" + t.compression() + "-level", "--compress-level");
        }
        if (t.zeroPageDetection() != null) {
            needParam(out, "zero-page-detection", "--zero-page-detection");
        }
        if (Boolean.TRUE.equals(t.xbzrle())) {
            needCap(out, "xbzrle", "--xbzrle");
        }
        if (t.switchoverAck()) {
            needCap(out, "switchover-ack", "--switchover-ack");
        }
        if (t.switchoverAck() || t.returnPath()) {
            needCap(out, "return-path", t.returnPath() ? "--return-path" : "--switchover-ack");
        }
        if (target) {
            return out;
        }
        if (t.availSwitchoverMiBps() != null) {
            needParam(out, "avail-switchover-bandwidth", "--switchover-bandwidth");
        }
        if (t.pauseBeforeSwitchover()) {
            needCap(out, "pause-before-switchover", "--pause-before-switchover");
        }
        if ("dirty-limit".equals(t.throttle())) {
            needCap(out, "dirty-limit", "--throttle dirty-limit");
        }
        return out;
    }

    void needCap(List<String> out, String cap, String option) {
        if (!capabilities.contains(cap)) {
            out.add(where() + " lacks migration capability '" + cap + "' (" + option + ")" + since(cap));
        }
    }

    private void needParam(List<String> out, String param, String option) {
        if (!parameters.contains(param)) {
            out.add(where() + " lacks migration parameter '" + param + "' (" + option + ")" + since(param));
        }
    }

    private String where() {
        return "QEMU " + version + " on node '" + node + "'";
    }

    private static String since(String item) {
        String v = SINCE.get(item);
        return v == null ? "" : "; QEMU " + v + " and newer have it";
    }

    /** The migration capabilities this QEMU has, by wire name (raw: a newer QEMU has names the binding lacks). */
    public static Set<String> capabilitiesOf(QemuProcess q) {
        Set<String> has = new java.util.TreeSet<>();
        q.qmp().execute(Commands.QUERY_MIGRATE_CAPABILITIES, null).forEach(c -> has.add(c.path("capability").asText()));
        return has;
    }
}
