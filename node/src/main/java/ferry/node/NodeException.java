package ferry.node;

/** A host-level operation failed; the message says what, and what to do next. */
public class NodeException extends RuntimeException {
    public NodeException(String message) {
        super(message);
    }

    public NodeException(String message, Throwable cause) {
        super(message, cause);
    }
}
