package ferry.cluster;

/**
 * A node's claim to be alive, kept by its agent: renewed in the background until closed. Peers
 * read the claims through {@link ClusterStore#liveNodes()}; a claim that is not renewed in time
 * lapses, and the node counts as down.
 */
public interface NodeLease extends AutoCloseable {

    /** Whether the last renewal succeeded in time; false while the store is unreachable or the lease was lost. */
    boolean held();

    /** How many times the lease was lost and taken again (the node may have been seen down meanwhile). */
    int renewals();

    /** Gives the claim up at once: the node shows down from now on. */
    @Override
    void close();
}
