package ferry.qmp;

/** Something went wrong talking QMP; subclasses say whether QEMU refused, time ran out, or the link broke. */
public class QmpException extends RuntimeException {
    public QmpException(String message) {
        super(message);
    }

    public QmpException(String message, Throwable cause) {
        super(message, cause);
    }
}
