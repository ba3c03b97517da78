package ferry.cli.libvirt;

/** libvirt could not be started or did not do what was asked; the message names the node and the cause. */
public final class LibvirtException extends RuntimeException {
    public LibvirtException(String message) {
        super(message);
    }

    public LibvirtException(String message, Throwable cause) {
        super(message, cause);
    }
}
