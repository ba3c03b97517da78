package ferry.qapi;

import java.io.IOException;
import java.nio.file.Path;

/** Build-time entry point: {@code Generate <top schema file> <output source dir> <java package>}. */
public final class Generate {
    private Generate() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 3) {
            System.err.println("usage: Generate SCHEMA.json OUTPUT_DIR JAVA_PACKAGE");
            System.exit(2);
        }
        Schema schema = Schema.load(Path.of(args[0]));
        int written = new JavaGenerator(schema, args[2]).writeTo(Path.of(args[1]));
        System.out.printf("qapi: %d definitions from %s, %d Java files changed in %s%n",
                schema.definitions().size(), args[0], written, args[1]);
    }
}
