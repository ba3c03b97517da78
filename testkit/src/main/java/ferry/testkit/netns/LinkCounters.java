package ferry.testkit.netns;

/** Byte counters of a host's interface, as the kernel keeps them (headers included). */
public record LinkCounters(long txBytes, long rxBytes) {
    /** What was sent and received between {@code earlier} and this reading. */
    public LinkCounters since(LinkCounters earlier) {
        return new LinkCounters(txBytes - earlier.txBytes, rxBytes - earlier.rxBytes);
    }
}
