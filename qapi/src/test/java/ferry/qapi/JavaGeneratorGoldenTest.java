package ferry.qapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The generated Java of the golden schema, compared file by file with {@code golden/java}.
 * Run with {@code -Dferry.golden.update=true} to rewrite the golden files after an intended change.
 */
class JavaGeneratorGoldenTest {
    private static final String HOW_TO_UPDATE = "If the change is intended, rewrite the golden files with\n"
            + "    mvn -pl qapi test -Dtest=JavaGeneratorGoldenTest -Dferry.golden.update=true\n"
            + "and review the diff of qapi/src/test/resources/golden/java.";

    @Test
    void generatedSourcesMatchTheGoldenFiles() throws IOException {
        Map<String, String> generated = GoldenSchema.generate();
        Path dir = GoldenSchema.javaDir();
        if (Boolean.getBoolean("ferry.golden.update")) {
            update(dir, generated);
        }
        TreeSet<String> golden = new TreeSet<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".java"))
                        .forEach(n -> golden.add(n.substring(0, n.length() - 5)));
            }
        }
        if (!golden.equals(new TreeSet<>(generated.keySet()))) {
            fail("Generated classes " + new TreeSet<>(generated.keySet()) + " differ from golden files " + golden
                    + " in " + dir + ".\n" + HOW_TO_UPDATE);
        }
        for (Map.Entry<String, String> e : generated.entrySet()) {
            String expected = Files.readString(dir.resolve(e.getKey() + ".java"), StandardCharsets.UTF_8);
            assertThat(e.getValue())
                    .withFailMessage(() -> "Generated " + e.getKey() + ".java differs from " + dir.resolve(e.getKey() + ".java")
                            + " at line " + firstDifferentLine(expected, e.getValue()) + ".\n" + HOW_TO_UPDATE)
                    .isEqualTo(expected);
        }
    }

    @Test
    void generationIsDeterministic() {
        assertThat(GoldenSchema.generate()).isEqualTo(GoldenSchema.generate());
    }

    @Test
    void writeToTouchesOnlyChangedFilesAndDropsStaleOnes(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        JavaGenerator gen = new JavaGenerator(GoldenSchema.load(), GoldenSchema.PACKAGE);
        int count = gen.generate().size();
        assertThat(gen.writeTo(tmp)).isEqualTo(count);
        Path pkg = tmp.resolve("golden/pkg");
        Files.writeString(pkg.resolve("Gone.java"), "class Gone {}");
        Files.writeString(pkg.resolve("RunState.java"), "changed");
        assertThat(gen.writeTo(tmp)).isEqualTo(2);
        assertThat(pkg.resolve("Gone.java")).doesNotExist();
        assertThat(Files.readString(pkg.resolve("RunState.java"))).isEqualTo(gen.generate().get("RunState"));
        assertThat(gen.writeTo(tmp)).isZero();
    }

    private static void update(Path dir, Map<String, String> generated) throws IOException {
        Files.createDirectories(dir);
        try (Stream<Path> old = Files.list(dir)) {
            for (Path f : old.toList()) {
                Files.delete(f);
            }
        }
        for (Map.Entry<String, String> e : generated.entrySet()) {
            Files.writeString(dir.resolve(e.getKey() + ".java"), e.getValue(), StandardCharsets.UTF_8);
        }
        System.out.println("ferry.golden.update: rewrote " + generated.size() + " golden files in " + dir);
    }

    private static int firstDifferentLine(String a, String b) {
        String[] x = a.split("\n", -1);
        String[] y = b.split("\n", -1);
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            if (!x[i].equals(y[i])) {
                return i + 1;
            }
        }
        return Math.min(x.length, y.length) + 1;
    }
}
