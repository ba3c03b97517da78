package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.INVALID;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a cluster's records live, as given to {@code ferry cluster create --store}: {@code dir}
 * (the embedded default, the cluster folder itself), {@code etcds://HOST:PORT[,HOST:PORT...]}
 * (etcd over mutual TLS with the cluster's certificates) or {@code etcd://HOST:PORT[,...]} (an
 * etcd without TLS: anyone who reaches its port can rewrite the records).
 *
 * @param etcdEndpoints the etcd client URLs ({@code https://host:port} for etcds, {@code
 *                      http://host:port} for etcd, never mixed); empty for the directory store
 */
public record StoreAddress(List<URI> etcdEndpoints) {
    public static final StoreAddress DIRECTORY = new StoreAddress(List.of());
    private static final String PLAIN = "etcd://";
    private static final String TLS = "etcds://";

    public StoreAddress {
        etcdEndpoints = List.copyOf(etcdEndpoints);
        if (etcdEndpoints.stream().map(URI::getScheme).distinct().count() > 1) {
            throw new ClusterException(INVALID, "etcd endpoints " + etcdEndpoints + " mix TLS and plain; use one");
        }
    }

    public static StoreAddress parse(String text) {
        if (text == null || text.isBlank() || text.equals("dir") || text.equals("directory")) {
            return DIRECTORY;
        }
        boolean tls = text.startsWith(TLS);
        if (!tls && !text.startsWith(PLAIN)) {
            throw new ClusterException(INVALID, "store '" + text + "' is not understood; use 'dir' (the cluster folder, "
                    + "for nodes on one host), etcds://HOST:PORT[,HOST:PORT...] (etcd with the cluster's certificates) "
                    + "or etcd://HOST:PORT[,...] (an etcd without TLS)");
        }
        List<URI> endpoints = new ArrayList<>();
        for (String hostPort : text.substring((tls ? TLS : PLAIN).length()).split(",")) {
            Names.HostPort hp = Names.hostPort(hostPort.trim());
            if (hp == null) {
                throw new ClusterException(INVALID, "etcd endpoint '" + hostPort + "' in store '" + text
                        + "' is not HOST:PORT (e.g. " + (tls ? TLS : PLAIN) + "127.0.0.1:2379)");
            }
            String host = hp.host().contains(":") ? "[" + hp.host() + "]" : hp.host();
            endpoints.add(URI.create((tls ? "https://" : "http://") + host + ":" + hp.port()));
        }
        return new StoreAddress(endpoints);
    }

    public boolean isEtcd() {
        return !etcdEndpoints.isEmpty();
    }

    /** Whether etcd is spoken to over mutual TLS ({@code etcds://}). */
    public boolean isTls() {
        return isEtcd() && etcdEndpoints.get(0).getScheme().equals("https");
    }

    /** The endpoints' hosts without brackets (what an etcd server certificate must name). */
    public List<String> etcdHosts() {
        return etcdEndpoints.stream().map(u -> u.getHost().replace("[", "").replace("]", "")).distinct().toList();
    }

    /** The form {@link #parse} reads. */
    @Override
    public String toString() {
        if (!isEtcd()) {
            return "dir";
        }
        List<String> parts = etcdEndpoints.stream().map(u -> u.getHost() + ":" + u.getPort()).toList();
        return (isTls() ? TLS : PLAIN) + String.join(",", parts);
    }
}
