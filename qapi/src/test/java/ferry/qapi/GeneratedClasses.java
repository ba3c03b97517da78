package ferry.qapi;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/** The golden schema's generated sources, compiled in-process and loaded; built once per test run. */
final class GeneratedClasses {
    private static GeneratedClasses instance;

    private final URLClassLoader loader;

    private GeneratedClasses(URLClassLoader loader) {
        this.loader = loader;
    }

    static synchronized GeneratedClasses get() {
        if (instance == null) {
            instance = compile(GoldenSchema.generate());
        }
        return instance;
    }

    private static GeneratedClasses compile(Map<String, String> sources) {
        try {
            Path root = Files.createTempDirectory("ferry-qapi-generated");
            root.toFile().deleteOnExit();
            Path src = root.resolve("src/" + GoldenSchema.PACKAGE.replace('.', '/'));
            Path out = root.resolve("classes");
            Files.createDirectories(src);
            Files.createDirectories(out);
            List<String> options = List.of("-classpath", System.getProperty("java.class.path"),
                    "-d", out.toString(), "-encoding", "UTF-8", "-Xlint:all", "-Werror", "-proc:none");
            List<Path> files = new ArrayList<>();
            for (Map.Entry<String, String> e : sources.entrySet()) {
                Path f = src.resolve(e.getKey() + ".java");
                Files.writeString(f, e.getValue(), StandardCharsets.UTF_8);
                files.add(f);
            }
            JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
            StringWriter diagnostics = new StringWriter();
            var fileManager = javac.getStandardFileManager(null, null, StandardCharsets.UTF_8);
            var task = javac.getTask(diagnostics, fileManager, null, options, null,
                    fileManager.getJavaFileObjectsFromPaths(files));
            if (!task.call()) {
                throw new AssertionError("generated sources do not compile:\n" + diagnostics);
            }
            return new GeneratedClasses(new URLClassLoader(new java.net.URL[] {out.toUri().toURL()},
                    GeneratedClasses.class.getClassLoader()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A generated class by simple name; nested ones as {@code Outer$Inner}. */
    Class<?> type(String simpleName) {
        try {
            return Class.forName(GoldenSchema.PACKAGE + "." + simpleName, true, loader);
        } catch (ClassNotFoundException e) {
            throw new AssertionError("no generated class " + simpleName, e);
        }
    }
}
