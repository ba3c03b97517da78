package ferry.qapi;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A parsed and checked QAPI schema: every definition of a top file and the files it includes. */
public final class Schema {
    /** The built-in types of the schema language. */
    public static final Set<String> BUILTINS = Set.of("str", "number", "int", "int8", "int16", "int32", "int64",
            "uint8", "uint16", "uint32", "uint64", "size", "bool", "null", "any", "QType");

    /** Reads schema text by a '/'-separated path; lets the schema live on disk or on the class path. */
    @FunctionalInterface
    public interface Source {
        String read(String path) throws IOException;
    }

    private final Map<String, Definition> byName;
    private final Map<String, String> fileOf;
    private final List<Map<String, Object>> pragmas;

    private Schema(Map<String, Definition> byName, Map<String, String> fileOf, List<Map<String, Object>> pragmas) {
        this.byName = Collections.unmodifiableMap(byName);
        this.fileOf = fileOf;
        this.pragmas = List.copyOf(pragmas);
    }

    public static Schema load(Path topFile) {
        Path dir = topFile.toAbsolutePath().getParent();
        return load(topFile.getFileName().toString(), p -> Files.readString(dir.resolve(p), StandardCharsets.UTF_8));
    }

    /** Loads from the class path, e.g. {@code loadResource("ferry/protocol/schema", "ferry.json")}. */
    public static Schema loadResource(ClassLoader loader, String folder, String topFile) {
        return load(topFile, p -> {
            try (InputStream in = loader.getResourceAsStream(folder + "/" + p)) {
                if (in == null) {
                    throw new NoSuchFileException(folder + "/" + p);
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        });
    }

    public static Schema load(String topFile, Source source) {
        Loader loader = new Loader(source);
        loader.include(topFile, new SourcePos(topFile, 0));
        Schema schema = new Schema(loader.defs, loader.fileOf, loader.pragmas);
        new SchemaChecker(schema).check();
        return schema;
    }

    public List<Definition> definitions() {
        return List.copyOf(byName.values());
    }

    public <T extends Definition> List<T> definitions(Class<T> kind) {
        return byName.values().stream().filter(kind::isInstance).map(kind::cast).toList();
    }

    /** The definition of that name, or null. */
    public Definition get(String name) {
        return byName.get(name);
    }

    /** The schema file (path as included) a definition comes from. */
    public String fileOf(String name) {
        return fileOf.get(name);
    }

    public List<Map<String, Object>> pragmas() {
        return pragmas;
    }

    /** All members of a struct, its bases' first. */
    public List<Member> allMembers(StructDef s) {
        List<Member> out = new ArrayList<>();
        if (s.base() != null) {
            out.addAll(allMembers((StructDef) byName.get(s.base())));
        }
        out.addAll(s.members());
        return out;
    }

    /** The common members of a union, the discriminator among them. */
    public List<Member> baseMembers(UnionDef u) {
        return u.base() != null ? allMembers((StructDef) byName.get(u.base())) : u.inlineBase();
    }

    /** The members a command's or event's data names or lists; null when it names a union. */
    public List<Member> argMembers(String argsType, List<Member> inline) {
        if (argsType == null) {
            return inline;
        }
        return byName.get(argsType) instanceof StructDef s ? allMembers(s) : null;
    }

    private static final class Loader {
        final Source source;
        final Map<String, Definition> defs = new LinkedHashMap<>();
        final Map<String, String> fileOf = new LinkedHashMap<>();
        final List<Map<String, Object>> pragmas = new ArrayList<>();
        final Set<String> done = new java.util.HashSet<>();
        final List<String> stack = new ArrayList<>();

        Loader(Source source) {
            this.source = source;
        }

        void include(String path, SourcePos from) {
            if (stack.contains(path)) {
                throw new SchemaException(from, "inclusion loop: " + String.join(" -> ", stack) + " -> " + path);
            }
            if (!done.add(path)) {
                return; // each file once
            }
            String text;
            try {
                text = source.read(path);
            } catch (NoSuchFileException e) {
                throw new SchemaException(from, "cannot find included file '" + path + "'");
            } catch (IOException e) {
                throw new UncheckedIOException("reading schema file " + path, e);
            }
            stack.add(path);
            for (ExprParser.Expr e : new ExprParser(path, text).parse()) {
                Object inc = e.dict().get("include");
                if (inc != null) {
                    if (!(inc instanceof String s) || e.dict().entries().size() != 1) {
                        throw new SchemaException(e.dict().pos(), "'include' takes one file name and nothing else");
                    }
                    include(resolve(path, s), e.dict().pos());
                } else if (e.dict().get("pragma") != null) {
                    if (!(e.dict().get("pragma") instanceof ExprParser.Dict p) || e.dict().entries().size() != 1) {
                        throw new SchemaException(e.dict().pos(), "'pragma' takes one dict and nothing else");
                    }
                    pragmas.add(p.entries());
                } else {
                    Definition d = DefinitionReader.read(e.dict(), e.doc());
                    Definition prev = defs.putIfAbsent(d.name(), d);
                    if (prev != null) {
                        throw new SchemaException(d.pos(), "'" + d.name() + "' is already defined at " + prev.pos());
                    }
                    fileOf.put(d.name(), path);
                }
            }
            stack.remove(stack.size() - 1);
        }

        private static String resolve(String including, String name) {
            int slash = including.lastIndexOf('/');
            String joined = slash < 0 ? name : including.substring(0, slash + 1) + name;
            return Path.of(joined).normalize().toString().replace('\\', '/');
        }
    }
}
