package ferry.qmp;

/** The link to the QMP peer is gone, could not be made, or the peer broke the protocol. */
public final class QmpConnectionException extends QmpException {
    public QmpConnectionException(String message) {
        super(message);
    }

    public QmpConnectionException(String message, Throwable cause) {
        super(message, cause);
    }
}
