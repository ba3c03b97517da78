package ferry.cluster;

import java.nio.file.Path;

/** The conformance suite on the embedded store: a cluster folder. */
class DirectoryStoreConformanceTest extends StoreConformance {
    private Path dir;
    private int clusters;

    @Override
    ClusterStore createCluster(String name) {
        dir = tmp.resolve(name + "-" + (++clusters));
        return DirectoryClusterStore.create(dir, name, NODES);
    }

    @Override
    ClusterStore reopen() {
        return DirectoryClusterStore.open(dir);
    }

    @Override
    String spec() {
        return dir.toString();
    }
}
