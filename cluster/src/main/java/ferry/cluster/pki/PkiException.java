package ferry.cluster.pki;

/** A certificate or key could not be made, read or written; the message names the file. */
public final class PkiException extends RuntimeException {
    public PkiException(String message) {
        super(message);
    }

    public PkiException(String message, Throwable cause) {
        super(message, cause);
    }
}
