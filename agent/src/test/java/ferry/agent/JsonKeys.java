package ferry.agent;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Checks the one naming convention of Ferry's JSON ({@link ApiJson}): every object key in snake_case.
 * Tests only: the CLI's tests reach it through this module's test jar.
 */
public final class JsonKeys {
    private static final Pattern SNAKE = Pattern.compile("[a-z0-9]+(_[a-z0-9]+)*");

    private JsonKeys() {}

    /** Every key of {@code json}, at any depth, that is not snake_case, as a JSON pointer to it. */
    public static List<String> notSnakeCase(JsonNode json) {
        List<String> out = new ArrayList<>();
        walk(json, "", out);
        return out;
    }

    private static void walk(JsonNode n, String at, List<String> out) {
        if (n.isObject()) {
            n.fields().forEachRemaining(e -> {
                String here = at + "/" + e.getKey();
                if (!SNAKE.matcher(e.getKey()).matches()) {
                    out.add(here);
                }
                walk(e.getValue(), here, out);
            });
        } else if (n.isArray()) {
            for (int i = 0; i < n.size(); i++) {
                walk(n.get(i), at + "/" + i, out);
            }
        }
    }
}
