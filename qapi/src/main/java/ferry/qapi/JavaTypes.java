package ferry.qapi;

/** Which Java type stands for a schema type, in generated code. */
final class JavaTypes {
    private final Schema schema;

    JavaTypes(Schema schema) {
        this.schema = schema;
    }

    /** The Java type of a member; optional members are boxed so that absent reads as null. */
    String of(TypeRef t, boolean optional) {
        if (t.array()) {
            return "List<" + of(TypeRef.of(t.name()), true) + ">";
        }
        return switch (t.name()) {
            case "str", "QType" -> "String";
            case "int", "int64", "uint32" -> optional ? "Long" : "long";
            case "int8", "int16", "int32", "uint8", "uint16" -> optional ? "Integer" : "int";
            // unsigned 64-bit values go past Long.MAX_VALUE
            case "uint64", "size" -> "BigInteger";
            case "number" -> optional ? "Double" : "double";
            case "bool" -> optional ? "Boolean" : "boolean";
            case "any", "null" -> "JsonNode";
            default -> Names.type(schema.get(t.name()).name());
        };
    }

    /** An expression of type java.lang.reflect.Type for a command's return type. */
    String reflectType(TypeRef t) {
        if (t == null) {
            return "Void.class";
        }
        String java = of(t, true);
        return t.array() ? "new TypeReference<" + java + ">() {}.getType()" : java + ".class";
    }
}
