package ferry.qapi;

import java.nio.file.NoSuchFileException;
import java.util.LinkedHashMap;
import java.util.Map;

/** An in-memory set of schema files, for {@link Schema#load(String, Schema.Source)}. */
final class SchemaFiles implements Schema.Source {
    private final Map<String, String> files = new LinkedHashMap<>();
    private final Map<String, Integer> reads = new LinkedHashMap<>();

    static SchemaFiles of(String... pathsAndTexts) {
        SchemaFiles f = new SchemaFiles();
        for (int i = 0; i < pathsAndTexts.length; i += 2) {
            f.files.put(pathsAndTexts[i], pathsAndTexts[i + 1]);
        }
        return f;
    }

    /** Loads a schema whose only file is {@code main.json}. */
    static Schema single(String text) {
        return of("main.json", text).load("main.json");
    }

    Schema load(String top) {
        return Schema.load(top, this);
    }

    /** How many times a file was read. */
    int reads(String path) {
        return reads.getOrDefault(path, 0);
    }

    @Override
    public String read(String path) throws NoSuchFileException {
        String text = files.get(path);
        if (text == null) {
            throw new NoSuchFileException(path);
        }
        reads.merge(path, 1, Integer::sum);
        return text;
    }
}
