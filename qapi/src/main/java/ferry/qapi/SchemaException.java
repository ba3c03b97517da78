package ferry.qapi;

/** A schema file is malformed or inconsistent; the message starts with {@code file:line:}. */
public final class SchemaException extends RuntimeException {
    public SchemaException(SourcePos pos, String message) {
        super(pos + ": " + message);
    }
}
