package ferry.testkit.netns;

/** A step of building, shaping or tearing down the hosts' network failed; the message names the command. */
public final class HostNetworkException extends RuntimeException {
    public HostNetworkException(String message) {
        super(message);
    }

    public HostNetworkException(String message, Throwable cause) {
        super(message, cause);
    }
}
