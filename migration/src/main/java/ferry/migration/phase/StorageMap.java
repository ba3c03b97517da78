package ferry.migration.phase;

import ferry.migration.MigrationRefused;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * {@code --target-storage}: one storage id that takes every local volume, or {@code src:dst}
 * pairs; a storage not named keeps its id on the target.
 */
record StorageMap(String all, Map<String, String> pairs) {
    static final StorageMap SAME = new StorageMap(null, Map.of());
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    /** Parses a map; bad input is refused before anything changes. */
    static StorageMap parse(String spec) {
        if (spec == null || spec.isBlank()) {
            return SAME;
        }
        if (!spec.contains(":")) {
            if (!ID.matcher(spec).matches()) {
                throw new MigrationRefused("--target-storage '" + spec + "' is not a storage id");
            }
            return new StorageMap(spec, Map.of());
        }
        Map<String, String> pairs = new LinkedHashMap<>();
        for (String pair : spec.split(",")) {
            String[] p = pair.split(":", -1);
            if (p.length != 2 || !ID.matcher(p[0]).matches() || !ID.matcher(p[1]).matches()) {
                throw new MigrationRefused("--target-storage: '" + pair + "' is not src:dst; give one storage id, or "
                        + "pairs like local:fast,archive:slow");
            }
            if (pairs.put(p[0], p[1]) != null) {
                throw new MigrationRefused("--target-storage names storage '" + p[0] + "' twice");
            }
        }
        return new StorageMap(null, Map.copyOf(pairs));
    }

    String targetOf(String source) {
        return all != null ? all : pairs.getOrDefault(source, source);
    }
}
