package ferry.cluster;

import java.time.Duration;

/** A child JVM that claims a node alive and keeps the claim until it is killed. args: spec, node, ttl seconds. */
final class LeaseHolder {
    private LeaseHolder() {}

    public static void main(String[] args) throws Exception {
        ClusterStore store = StoreSpec.open(args[0]);
        store.announce(args[1], Duration.ofSeconds(Long.parseLong(args[2])));
        System.out.println("HELD");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
