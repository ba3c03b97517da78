package ferry.qapi;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.util.List;

/** Which JSON values a Java type of the generated code can hold; used to pick an alternate's branch. */
final class JsonKind {
    private JsonKind() {}

    static boolean accepts(Class<?> t, JsonNode n) {
        if (n == null || n.isNull()) {
            return false;
        }
        if (t == String.class || t.isEnum()) {
            return n.isTextual();
        }
        if (t == long.class || t == int.class || t == Long.class || t == Integer.class || t == BigInteger.class) {
            return n.isIntegralNumber();
        }
        if (t == double.class || t == Double.class) {
            return n.isNumber();
        }
        if (t == boolean.class || t == Boolean.class) {
            return n.isBoolean();
        }
        if (List.class.isAssignableFrom(t)) {
            return n.isArray();
        }
        return t == JsonNode.class || n.isObject();
    }

    /** What an absent member reads as: null, or zero/false for the primitives of required members. */
    static Object absent(Class<?> t) {
        if (!t.isPrimitive()) {
            return null;
        }
        if (t == boolean.class) {
            return false;
        }
        if (t == long.class) {
            return 0L;
        }
        if (t == int.class) {
            return 0;
        }
        return 0.0;
    }
}
