package ferry.qmp;

/** No reply came within the call's time limit; a late reply is ignored. */
public final class QmpTimeoutException extends QmpException {
    public QmpTimeoutException(String message) {
        super(message);
    }
}
