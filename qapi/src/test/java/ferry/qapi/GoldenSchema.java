package ferry.qapi;

import java.nio.file.Path;
import java.util.Map;

/** The golden schema of the generator tests, under {@code src/test/resources/golden}. */
final class GoldenSchema {
    static final String PACKAGE = "golden.pkg";

    private GoldenSchema() {}

    static Schema load() {
        return Schema.loadResource(GoldenSchema.class.getClassLoader(), "golden/schema", "golden.json");
    }

    static Map<String, String> generate() {
        return new JavaGenerator(load(), PACKAGE).generate();
    }

    /** The golden Java files in the source tree (not the copy on the class path), so that updates land there. */
    static Path javaDir() {
        return Path.of(System.getProperty("basedir", System.getProperty("user.dir")))
                .resolve("src/test/resources/golden/java");
    }
}
