package ferry.cluster;

/**
 * A cluster record operation failed. The message says what failed, on which node or VM, and what
 * to do next; {@link #reason()} lets callers (HTTP API, CLI) map the failure to a status.
 */
public class ClusterException extends RuntimeException {

    /** Why an operation failed. */
    public enum Reason {
        /** The VM, journal or cluster folder does not exist. */
        NOT_FOUND,
        /** The VM or cluster already exists. */
        EXISTS,
        /** The VM's lock is not what the caller needs: locked by someone, or not holding the caller's lock. */
        LOCKED,
        /** Another node owns the VM. */
        NOT_OWNER,
        /** The node is not a member of the cluster. */
        UNKNOWN_NODE,
        /** The request itself is malformed (vmid out of range, bad name, bad address, ...). */
        INVALID,
        /** The record changed since the caller read it (another writer came first): read again and decide anew. */
        CONFLICT,
        /** The store could not be read or written, or holds a record it cannot parse. */
        IO
    }

    private final Reason reason;

    public ClusterException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public ClusterException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
