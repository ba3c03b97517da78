package ferry.qapi;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compares a schema with a running QEMU's {@code query-qmp-schema} answer. QEMU hides type names
 * in that answer, so the walk starts from commands and events, which keep their names, and pairs
 * our types with QEMU's along the way.
 */
public final class Conformance {
    /** One way the binding and QEMU disagree; {@code path} is e.g. {@code MigrationCapability.compress}. */
    public record Difference(String path, Kind kind, String expected, String found) {
        @Override
        public String toString() {
            return path + ": " + kind.label + " (binding: " + expected + ", QEMU: " + found + ")";
        }
    }

    public enum Kind {
        /** The binding has it; QEMU does not. */
        MISSING("missing in QEMU"),
        /** Both have it with different JSON types. */
        TYPE("different type"),
        /** One side has it optional, the other required. */
        OPTIONALITY("different optionality"),
        /** QEMU has it; the binding does not (only checked for definitions the binding claims in full). */
        EXTRA("only in QEMU");

        public final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    /** The outcome: which commands and events QEMU has, every difference, and what could not be reached. */
    public record Report(List<String> commandsBound, List<String> commandsMissing, List<String> eventsBound,
                         List<String> eventsMissing, List<Difference> differences, List<String> unreached) {
        public List<String> commandsPresent() {
            return commandsBound.stream().filter(c -> !commandsMissing.contains(c)).toList();
        }

        public List<Difference> mismatches() {
            return differences.stream().filter(d -> d.kind() != Kind.EXTRA).toList();
        }
    }

    private final Schema schema;
    private final Set<String> completeFiles;
    private final Map<String, JsonNode> theirs = new HashMap<>();
    private final Set<String> visited = new HashSet<>();
    private final Set<String> reached = new HashSet<>();
    private final List<Difference> diffs = new ArrayList<>();

    private Conformance(Schema schema, JsonNode introspection, Set<String> completeFiles) {
        this.schema = schema;
        this.completeFiles = completeFiles;
        for (JsonNode info : introspection) {
            theirs.put(info.path("name").asText(), info);
        }
    }

    /**
     * Checks every command and event of the schema against QEMU's introspection.
     *
     * @param completeFiles schema files whose definitions claim all of QEMU's members and values;
     *                      only for them are QEMU's extra members reported
     */
    public static Report check(Schema schema, JsonNode introspection, Set<String> completeFiles) {
        return new Conformance(schema, introspection, completeFiles).run();
    }

    private Report run() {
        List<String> cmds = new ArrayList<>();
        List<String> cmdsMissing = new ArrayList<>();
        for (CommandDef c : schema.definitions(CommandDef.class)) {
            cmds.add(c.name());
            JsonNode t = theirs.get(c.name());
            if (t == null || !t.path("meta-type").asText().equals("command")) {
                cmdsMissing.add(c.name());
                continue;
            }
            args(c.name(), c.argsType(), c.inlineArgs(), t.path("arg-type").asText(), complete(c));
            if (c.returns() != null) {
                type(c.returns(), t.path("ret-type").asText(), c.name() + ".returns", complete(c));
            }
        }
        List<String> evs = new ArrayList<>();
        List<String> evsMissing = new ArrayList<>();
        for (EventDef e : schema.definitions(EventDef.class)) {
            evs.add(e.name());
            JsonNode t = theirs.get(e.name());
            if (t == null || !t.path("meta-type").asText().equals("event")) {
                evsMissing.add(e.name());
                continue;
            }
            args(e.name(), e.argsType(), e.inlineArgs(), t.path("arg-type").asText(), complete(e));
        }
        List<String> unreached = schema.definitions().stream()
                .filter(d -> !(d instanceof CommandDef || d instanceof EventDef) && !reached.contains(d.name()))
                .map(Definition::name).toList();
        return new Report(cmds, cmdsMissing, evs, evsMissing, List.copyOf(new LinkedHashSet<>(diffs)), unreached);
    }

    private boolean complete(Definition d) {
        return completeFiles.contains(schema.fileOf(d.name()));
    }

    private void args(String owner, String argsType, List<Member> inline, String theirType, boolean complete) {
        if (argsType != null) {
            type(TypeRef.of(argsType), theirType, owner, complete);
        } else {
            JsonNode obj = theirs.get(theirType);
            members(owner, inline, obj, complete);
        }
    }

    private void members(String owner, List<Member> ours, JsonNode obj, boolean complete) {
        Map<String, JsonNode> their = new HashMap<>();
        if (obj != null) {
            obj.path("members").forEach(m -> their.put(m.path("name").asText(), m));
        }
        for (Member m : ours) {
            JsonNode t = their.remove(m.name());
            String path = owner + "." + m.name();
            if (t == null) {
                diffs.add(new Difference(path, Kind.MISSING, describe(m), "absent"));
                continue;
            }
            boolean theirOptional = t.has("default");
            if (theirOptional != m.optional()) {
                diffs.add(new Difference(path, Kind.OPTIONALITY, m.optional() ? "optional" : "required",
                        theirOptional ? "optional" : "required"));
            }
            type(m.type(), t.path("type").asText(), path, complete);
        }
        if (complete) {
            their.forEach((name, t) -> diffs.add(new Difference(owner + "." + name, Kind.EXTRA, "absent",
                    (t.has("default") ? "optional " : "") + describeTheirs(t.path("type").asText()))));
        }
    }

    private void type(TypeRef ours, String theirName, String path, boolean complete) {
        JsonNode t = theirs.get(theirName);
        String meta = t == null ? "?" : t.path("meta-type").asText();
        if (ours.array()) {
            if (!meta.equals("array")) {
                diffs.add(new Difference(path, Kind.TYPE, ours.toString(), describeTheirs(theirName)));
            } else {
                type(TypeRef.of(ours.name()), t.path("element-type").asText(), path, complete);
            }
            return;
        }
        if (Schema.BUILTINS.contains(ours.name())) {
            String want = jsonType(ours.name());
            String found = meta.equals("builtin") ? t.path("json-type").asText() : meta;
            if (!want.equals(found) && !(ours.name().equals("QType") && meta.equals("enum"))) {
                diffs.add(new Difference(path, Kind.TYPE, ours.name() + " (" + want + ")", describeTheirs(theirName)));
            }
            return;
        }
        Definition d = schema.get(ours.name());
        markReached(d.name());
        if (!visited.add(d.name() + "->" + theirName)) {
            return;
        }
        boolean full = complete || complete(d);
        switch (d) {
            case EnumDef e -> {
                if (!meta.equals("enum")) {
                    diffs.add(new Difference(path, Kind.TYPE, "enum " + e.name(), describeTheirs(theirName)));
                    return;
                }
                Set<String> values = new LinkedHashSet<>();
                t.path("values").forEach(v -> values.add(v.asText()));
                for (EnumValue v : e.values()) {
                    if (!values.remove(v.name())) {
                        diffs.add(new Difference(e.name() + "." + v.name(), Kind.MISSING, "value", "absent"));
                    }
                }
                if (full) {
                    values.forEach(v -> diffs.add(new Difference(e.name() + "." + v, Kind.EXTRA, "absent", "value")));
                }
            }
            case StructDef s -> {
                if (!meta.equals("object")) {
                    diffs.add(new Difference(path, Kind.TYPE, "struct " + s.name(), describeTheirs(theirName)));
                    return;
                }
                members(s.name(), schema.allMembers(s), t, full);
            }
            case UnionDef u -> union(u, t, meta, path, full);
            case AlternateDef a -> alternate(a, t, meta, path);
            default -> throw new IllegalStateException("not a type: " + d.name());
        }
    }

    /** A type counts as reached with the bases it inherits members from. */
    private void markReached(String name) {
        while (name != null && reached.add(name)) {
            Definition d = schema.get(name);
            name = d instanceof StructDef s ? s.base() : d instanceof UnionDef u ? u.base() : null;
        }
    }

    private void union(UnionDef u, JsonNode t, String meta, String path, boolean full) {
        if (!meta.equals("object") || !t.has("tag")) {
            diffs.add(new Difference(path, Kind.TYPE, "union " + u.name(), describeTheirs(t.path("name").asText())));
            return;
        }
        members(u.name(), schema.baseMembers(u), t, full);
        if (!t.path("tag").asText().equals(u.discriminator())) {
            diffs.add(new Difference(u.name() + ".(discriminator)", Kind.TYPE, u.discriminator(), t.path("tag").asText()));
        }
        Map<String, String> variants = new HashMap<>();
        t.path("variants").forEach(v -> variants.put(v.path("case").asText(), v.path("type").asText()));
        for (Branch b : u.branches()) {
            String theirType = variants.remove(b.name());
            if (theirType == null) {
                diffs.add(new Difference(u.name() + ".(" + b.name() + ")", Kind.MISSING, "branch " + b.type(), "absent"));
            } else {
                type(b.type(), theirType, u.name() + ".(" + b.name() + ")", full);
            }
        }
        if (full) {
            // QEMU lists empty branches as variants of an empty object; only real ones count
            variants.forEach((c, ty) -> {
                if (!theirs.getOrDefault(ty, t).path("members").isEmpty()) {
                    diffs.add(new Difference(u.name() + ".(" + c + ")", Kind.EXTRA, "absent", "branch"));
                }
            });
        }
    }

    private void alternate(AlternateDef a, JsonNode t, String meta, String path) {
        if (!meta.equals("alternate")) {
            diffs.add(new Difference(path, Kind.TYPE, "alternate " + a.name(), describeTheirs(t.path("name").asText())));
            return;
        }
        Set<String> kinds = new HashSet<>();
        t.path("members").forEach(m -> kinds.add(category(m.path("type").asText())));
        for (Member m : a.alternatives()) {
            String want = m.type().array() ? "array" : Schema.BUILTINS.contains(m.type().name())
                    ? jsonType(m.type().name()) : schema.get(m.type().name()) instanceof EnumDef ? "string" : "object";
            if (!kinds.contains(want)) {
                diffs.add(new Difference(a.name() + "." + m.name(), Kind.MISSING, want + " alternative", "absent"));
            }
            markReached(m.type().name());
        }
    }

    private String category(String theirName) {
        JsonNode t = theirs.get(theirName);
        String meta = t == null ? "?" : t.path("meta-type").asText();
        return switch (meta) {
            case "builtin" -> t.path("json-type").asText();
            case "enum" -> "string";
            default -> meta;
        };
    }

    static String jsonType(String builtin) {
        return switch (builtin) {
            case "str", "QType" -> "string";
            case "number" -> "number";
            case "bool" -> "boolean";
            case "null" -> "null";
            case "any" -> "value";
            default -> "int";
        };
    }

    private static String describe(Member m) {
        return (m.optional() ? "optional " : "") + m.type();
    }

    private String describeTheirs(String name) {
        JsonNode t = theirs.get(name);
        if (t == null) {
            return "unknown type " + name;
        }
        return switch (t.path("meta-type").asText()) {
            case "builtin" -> t.path("json-type").asText();
            case "array" -> "array of " + describeTheirs(t.path("element-type").asText());
            default -> t.path("meta-type").asText();
        };
    }
}
