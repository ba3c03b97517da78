package ferry.qapi;

import java.util.Locale;
import java.util.Set;

/** How schema names become legal, readable Java names. */
final class Names {
    private static final Set<String> KEYWORDS = Set.of("abstract", "assert", "boolean", "break", "byte", "case",
            "catch", "char", "class", "const", "continue", "default", "do", "double", "else", "enum", "extends",
            "final", "finally", "float", "for", "goto", "if", "implements", "import", "instanceof", "int",
            "interface", "long", "native", "new", "package", "private", "protected", "public", "return", "short",
            "static", "strictfp", "super", "switch", "synchronized", "this", "throw", "throws", "transient", "try",
            "void", "volatile", "while", "true", "false", "null", "var", "yield", "record", "sealed", "permits",
            "_");
    /** Methods every record has; a component of that name would clash. */
    private static final Set<String> OBJECT_METHODS = Set.of("hashCode", "toString", "equals", "getClass", "notify",
            "notifyAll", "wait", "clone", "finalize");
    /** Simple names the generated code refers to unqualified; a schema type of that name is renamed. */
    static final Set<String> TAKEN_TYPES = Set.of("String", "Long", "Integer", "Double", "Boolean", "Object",
            "List", "Map", "Void", "JsonNode", "BigInteger", "Override", "Deprecated", "Record", "Enum", "Builder",
            "Command", "Commands", "Events", "Timestamp", "QapiEvent", "TypeReference");

    private Names() {}

    /** A type name: QAPI spells them CamelCase already; make it legal and unclashing. */
    static String type(String qapi) {
        String s = qapi.replaceAll("[^A-Za-z0-9_]", "_");
        if (Character.isDigit(s.charAt(0))) {
            s = "_" + s;
        }
        return TAKEN_TYPES.contains(s) || KEYWORDS.contains(s) ? "Qapi" + s : s;
    }

    /** "tls-creds-x509" or "MIGRATION_PASS" to "TlsCredsX509" / "MigrationPass". */
    static String camelUpper(String wire) {
        StringBuilder sb = new StringBuilder();
        for (String part : wire.split("[-_.]")) {
            if (part.isEmpty()) {
                continue;
            }
            boolean shout = part.equals(part.toUpperCase(Locale.ROOT));
            String rest = shout ? part.substring(1).toLowerCase(Locale.ROOT) : part.substring(1);
            sb.append(Character.toUpperCase(part.charAt(0))).append(rest);
        }
        String s = sb.toString();
        return s.isEmpty() || Character.isDigit(s.charAt(0)) ? "_" + s : s;
    }

    /** A member name: "downtime-limit" to "downtimeLimit". */
    static String member(String wire) {
        String[] parts = wire.split("[-_.]");
        StringBuilder sb = new StringBuilder();
        for (String part : parts) {
            if (part.isEmpty()) {
                continue;
            }
            sb.append(sb.isEmpty() ? part : Character.toUpperCase(part.charAt(0)) + part.substring(1));
        }
        String s = sb.toString();
        if (s.isEmpty() || Character.isDigit(s.charAt(0))) {
            s = "_" + s;
        }
        return KEYWORDS.contains(s) || OBJECT_METHODS.contains(s) ? s + "_" : s;
    }

    /** An enum constant or command constant: "cpr-reboot" to "CPR_REBOOT", "1" to "_1". */
    static String constant(String wire) {
        String s = wire.replaceAll("([a-z0-9])([A-Z])", "$1_$2").replaceAll("[^A-Za-z0-9]", "_")
                .toUpperCase(Locale.ROOT);
        return Character.isDigit(s.charAt(0)) ? "_" + s : s;
    }
}
