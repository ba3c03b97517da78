package ferry.qapi;

import ferry.qapi.ExprParser.Dict;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads one top-level dict into a {@link Definition}, checking its keys and their shapes. */
final class DefinitionReader {
    private static final Map<String, Set<String>> KEYS = Map.of(
            "struct", Set.of("struct", "data", "base", "if", "features"),
            "enum", Set.of("enum", "data", "prefix", "if", "features"),
            "union", Set.of("union", "base", "discriminator", "data", "if", "features"),
            "alternate", Set.of("alternate", "data", "if", "features"),
            "command", Set.of("command", "data", "boxed", "returns", "allow-oob", "success-response", "gen",
                    "allow-preconfig", "coroutine", "if", "features"),
            "event", Set.of("event", "data", "boxed", "if", "features"));

    private DefinitionReader() {}

    static Definition read(Dict d, String doc) {
        String meta = d.entries().keySet().stream().filter(KEYS::containsKey).findFirst()
                .orElseThrow(() -> new SchemaException(d.pos(),
                        "expected one of 'struct', 'enum', 'union', 'alternate', 'command', 'event', 'include', 'pragma' as the first key"));
        for (String key : d.entries().keySet()) {
            if (!KEYS.get(meta).contains(key)) {
                throw new SchemaException(d.pos(), "unknown key '" + key + "' in " + meta + " (expected one of "
                        + KEYS.get(meta).stream().sorted().toList() + ")");
            }
        }
        String name = string(d, meta, true);
        String line = oneLine(doc, name);
        List<String> features = features(d);
        Condition cond = condition(d.get("if"), d.pos());
        SourcePos pos = d.pos();
        return switch (meta) {
            case "struct" -> new StructDef(name, line, features, cond, pos, string(d, "base", false),
                    members(dict(d, "data", true), pos));
            case "enum" -> new EnumDef(name, line, features, cond, pos, enumValues(d), string(d, "prefix", false));
            case "union" -> union(d, name, line, features, cond);
            case "alternate" -> new AlternateDef(name, line, features, cond, pos, members(dict(d, "data", true), pos));
            case "command" -> command(d, name, line, features, cond);
            default -> new EventDef(name, line, features, cond, pos, dataName(d), dataMembers(d), bool(d, "boxed", false));
        };
    }

    private static UnionDef union(Dict d, String name, String doc, List<String> features, Condition cond) {
        Object base = d.get("base");
        String baseName = null;
        List<Member> inline = List.of();
        if (base instanceof String s) {
            baseName = s;
        } else if (base instanceof Dict b) {
            inline = members(b, b.pos());
        } else {
            throw new SchemaException(d.pos(), "union '" + name + "' needs 'base': a struct name or a dict of members");
        }
        String disc = string(d, "discriminator", true);
        List<Branch> branches = new ArrayList<>();
        for (Map.Entry<String, Object> e : dict(d, "data", true).entries().entrySet()) {
            Object v = e.getValue();
            if (v instanceof Dict bd) {
                branches.add(new Branch(e.getKey(), typeRef(bd.get("type"), bd.pos()), condition(bd.get("if"), bd.pos())));
            } else {
                branches.add(new Branch(e.getKey(), typeRef(v, d.pos()), null));
            }
        }
        return new UnionDef(name, doc, features, cond, d.pos(), baseName, inline, disc, branches);
    }

    private static CommandDef command(Dict d, String name, String doc, List<String> features, Condition cond) {
        Object ret = d.get("returns");
        return new CommandDef(name, doc, features, cond, d.pos(), dataName(d), dataMembers(d), bool(d, "boxed", false),
                ret == null ? null : typeRef(ret, d.pos()), bool(d, "allow-oob", false),
                bool(d, "success-response", true), bool(d, "gen", true), bool(d, "allow-preconfig", false),
                bool(d, "coroutine", false));
    }

    private static String dataName(Dict d) {
        return d.get("data") instanceof String s ? s : null;
    }

    private static List<Member> dataMembers(Dict d) {
        Object data = d.get("data");
        if (data == null || data instanceof String) {
            return List.of();
        }
        if (data instanceof Dict m) {
            return members(m, d.pos());
        }
        throw new SchemaException(d.pos(), "'data' must be a type name or a dict of members");
    }

    static List<Member> members(Dict data, SourcePos pos) {
        List<Member> out = new ArrayList<>();
        for (Map.Entry<String, Object> e : data.entries().entrySet()) {
            String key = e.getKey();
            boolean optional = key.startsWith("*");
            String name = optional ? key.substring(1) : key;
            if (name.isEmpty()) {
                throw new SchemaException(data.pos(), "member name is empty");
            }
            Object v = e.getValue();
            if (v instanceof Dict md) {
                for (String k : md.entries().keySet()) {
                    if (!Set.of("type", "if", "features").contains(k)) {
                        throw new SchemaException(md.pos(), "unknown key '" + k + "' in member '" + name
                                + "' (expected 'type', 'if' or 'features')");
                    }
                }
                out.add(new Member(name, typeRef(md.get("type"), md.pos()), optional, features(md),
                        condition(md.get("if"), md.pos())));
            } else {
                out.add(new Member(name, typeRef(v, data.pos()), optional, List.of(), null));
            }
        }
        return out;
    }

    private static List<EnumValue> enumValues(Dict d) {
        if (!(d.get("data") instanceof List<?> list)) {
            throw new SchemaException(d.pos(), "enum 'data' must be a list of values");
        }
        List<EnumValue> out = new ArrayList<>();
        for (Object v : list) {
            if (v instanceof String s) {
                out.add(new EnumValue(s, List.of(), null));
            } else if (v instanceof Dict vd && vd.get("name") instanceof String s) {
                out.add(new EnumValue(s, features(vd), condition(vd.get("if"), vd.pos())));
            } else {
                throw new SchemaException(d.pos(), "enum value must be a string or a dict with 'name'");
            }
        }
        return out;
    }

    static TypeRef typeRef(Object v, SourcePos pos) {
        if (v instanceof String s) {
            return TypeRef.of(s);
        }
        if (v instanceof List<?> l && l.size() == 1 && l.get(0) instanceof String s) {
            return new TypeRef(s, true);
        }
        throw new SchemaException(pos, "expected a type name or a one-element array ['Type'], found " + describe(v));
    }

    static List<String> features(Dict d) {
        Object f = d.get("features");
        if (f == null) {
            return List.of();
        }
        if (!(f instanceof List<?> list)) {
            throw new SchemaException(d.pos(), "'features' must be a list");
        }
        List<String> out = new ArrayList<>();
        for (Object v : list) {
            if (v instanceof String s) {
                out.add(s);
            } else if (v instanceof Dict fd && fd.get("name") instanceof String s) {
                out.add(s);
            } else {
                throw new SchemaException(d.pos(), "feature must be a string or a dict with 'name'");
            }
        }
        return List.copyOf(out);
    }

    static Condition condition(Object v, SourcePos pos) {
        if (v == null) {
            return null;
        }
        if (v instanceof String s) {
            return new Condition.Config(s);
        }
        if (v instanceof Dict d && d.entries().size() == 1) {
            Map.Entry<String, Object> e = d.entries().entrySet().iterator().next();
            switch (e.getKey()) {
                case "not":
                    return new Condition.Not(condition(e.getValue(), pos));
                case "all":
                case "any":
                    if (!(e.getValue() instanceof List<?> l) || l.isEmpty()) {
                        throw new SchemaException(pos, "'" + e.getKey() + "' needs a non-empty list of conditions");
                    }
                    List<Condition> of = l.stream().map(c -> condition(c, pos)).toList();
                    return e.getKey().equals("all") ? new Condition.All(of) : new Condition.Any(of);
                default:
                    break;
            }
        }
        throw new SchemaException(pos, "'if' must be a string or a dict with one of 'all', 'any', 'not'");
    }

    private static String string(Dict d, String key, boolean required) {
        Object v = d.get(key);
        if (v == null && !required) {
            return null;
        }
        if (v instanceof String s && !s.isEmpty()) {
            return s;
        }
        throw new SchemaException(d.pos(), "'" + key + "' must be a non-empty string, found " + describe(v));
    }

    private static Dict dict(Dict d, String key, boolean required) {
        Object v = d.get(key);
        if (v instanceof Dict m) {
            return m;
        }
        if (v == null && !required) {
            return new Dict(Map.of(), d.pos());
        }
        throw new SchemaException(d.pos(), "'" + key + "' must be a dict, found " + describe(v));
    }

    private static boolean bool(Dict d, String key, boolean dflt) {
        Object v = d.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        throw new SchemaException(d.pos(), "'" + key + "' must be true or false, found " + describe(v));
    }

    private static String describe(Object v) {
        if (v == null) {
            return "nothing";
        }
        if (v instanceof String s) {
            return "'" + s + "'";
        }
        return v instanceof Dict ? "a dict" : v instanceof List ? "a list" : String.valueOf(v);
    }

    /** Our doc blocks open with "@Name: text"; the text is the one-line description. */
    private static String oneLine(String doc, String name) {
        if (doc == null) {
            return "";
        }
        for (String l : doc.split("\n")) {
            String t = l.strip();
            if (t.startsWith("@" + name + ":")) {
                t = t.substring(name.length() + 2).strip();
            }
            if (!t.isEmpty() && !t.startsWith("@")) {
                return t;
            }
        }
        return "";
    }
}
