package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.INVALID;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a cluster's records live, as given to {@code ferry cluster create --store}: {@code dir}
 * (the embedded default, the cluster folder itself) or {@code etcd://HOST:PORT[,HOST:PORT...]}.
 *
 * @param etcdEndpoints the etcd client URLs ({@code http://host:port}); empty for the directory store
 */
public record StoreAddress(List<URI> etcdEndpoints) {
    public static final StoreAddress DIRECTORY = new StoreAddress(List.of());

    public StoreAddress {
        etcdEndpoints = List.copyOf(etcdEndpoints);
    }

    public static StoreAddress parse(String text) {
        if (text == null || text.isBlank() || text.equals("dir") || text.equals("directory")) {
            return DIRECTORY;
        }
        if (!text.startsWith("etcd://")) {
            throw new ClusterException(INVALID, "store '" + text + "' is not understood; use 'dir' (the cluster folder, "
                    + "for nodes on one host) or etcd://HOST:PORT[,HOST:PORT...]");
        }
        List<URI> endpoints = new ArrayList<>();
        for (String hostPort : text.substring("etcd://".length()).split(",")) {
            Names.HostPort hp = Names.hostPort(hostPort.trim());
            if (hp == null) {
                throw new ClusterException(INVALID, "etcd endpoint '" + hostPort + "' in store '" + text
                        + "' is not HOST:PORT (e.g. etcd://127.0.0.1:2379)");
            }
            String host = hp.host().contains(":") ? "[" + hp.host() + "]" : hp.host();
            endpoints.add(URI.create("http://" + host + ":" + hp.port()));
        }
        return new StoreAddress(endpoints);
    }

    public boolean isEtcd() {
        return !etcdEndpoints.isEmpty();
    }

    /** The form {@link #parse} reads. */
    @Override
    public String toString() {
        if (!isEtcd()) {
            return "dir";
        }
        List<String> parts = etcdEndpoints.stream().map(u -> u.getHost() + ":" + u.getPort()).toList();
        return "etcd://" + String.join(",", parts);
    }
}
