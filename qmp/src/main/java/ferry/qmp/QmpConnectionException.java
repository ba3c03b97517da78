package ferry.qmp;

/** The link to the QMP peer is gone, could not be made, or the peer broke the protocol. */
public final class QmpConnectionException extends QmpException {
    private final boolean sent;

    public QmpConnectionException(String message) {
        this(message, true);
    }

    /** {@code sent}: whether the failed command may have reached the peer (see {@link #sent()}). */
    public QmpConnectionException(String message, boolean sent) {
        super(message);
        this.sent = sent;
    }

    public QmpConnectionException(String message, Throwable cause) {
        super(message, cause);
        this.sent = true;
    }

    /**
     * False only when the command was certainly never written: the connection was already closed
     * when it was issued. Otherwise the peer may have run it before the link broke; a caller that
     * must know (was the guest told to run?) has to assume it did.
     */
    public boolean sent() {
        return sent;
    }
}
