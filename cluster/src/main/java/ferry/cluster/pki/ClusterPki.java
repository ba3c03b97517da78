package ferry.cluster.pki;

import ferry.cluster.AtomicFiles;
import ferry.cluster.NodeInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The cluster's certificates in its folder, under {@code pki/}:
 * <pre>
 *   ca-cert.pem  ca-key.pem          the CA (its key only where the admin issues certificates)
 *   admin/cert.pem  admin/key.pem    the CLI's client certificate
 *   nodes/NODE/cert.pem  key.pem     each node's certificate (a host needs only its own)
 *   etcd/cert.pem  etcd/key.pem      the server certificate of the cluster's etcd (etcds:// stores only)
 * </pre>
 * Keys are written readable by their owner only (0600), folders 0700.
 */
public final class ClusterPki {
    public static final String FOLDER = "pki";
    private static final Set<PosixFilePermission> KEY_MODE = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> CERT_MODE = PosixFilePermissions.fromString("rw-r--r--");
    private static final Set<PosixFilePermission> FOLDER_MODE = PosixFilePermissions.fromString("rwx------");

    private final Path dir;

    private ClusterPki(Path dir) {
        this.dir = dir;
    }

    /** The certificates of the cluster in {@code clusterDir} (they need not exist: see {@link #exists()}). */
    public static ClusterPki in(Path clusterDir) {
        return new ClusterPki(clusterDir.toAbsolutePath().resolve(FOLDER));
    }

    /** Makes a CA and a certificate for each node and the admin; refuses to replace an existing CA. */
    public static ClusterPki create(Path clusterDir, String cluster, List<NodeInfo> nodes) {
        ClusterPki pki = in(clusterDir);
        if (Files.exists(pki.caCertFile())) {
            throw new PkiException(pki.caCertFile() + " exists already; this cluster has a CA (use 'ferry cluster "
                    + "rotate-certs' to renew its certificates)");
        }
        return prepare(clusterDir, cluster, nodes, List.of());
    }

    /**
     * Makes what is missing of a new cluster's certificates: the CA, each node's and the admin's
     * and, when {@code etcdHosts} is not empty, the etcd server's (valid for those hosts). A CA
     * already there (an earlier {@code cluster create} made it, then found its etcd not yet
     * serving with the certificate) is kept, and only what is missing is issued. The caller
     * makes sure the folder holds no cluster yet.
     */
    public static ClusterPki prepare(Path clusterDir, String cluster, List<NodeInfo> nodes, List<String> etcdHosts) {
        ClusterPki pki = in(clusterDir);
        CertificateAuthority ca;
        if (pki.exists()) {
            ca = pki.authority();
            String expected = "CN=Ferry cluster " + cluster + " CA";
            if (!ca.certificate().getSubjectX500Principal().getName().equals(expected)) {
                throw new PkiException(pki.caCertFile() + " is the CA of another cluster ("
                        + ca.certificate().getSubjectX500Principal().getName() + "); create cluster '" + cluster
                        + "' in another folder");
            }
        } else {
            ca = CertificateAuthority.create(cluster);
            pki.writeCredential(pki.dir, "ca-cert.pem", "ca-key.pem", ca.credential());
        }
        for (NodeInfo n : nodes) {
            if (!Files.exists(pki.nodeFolder(n.name()).resolve("cert.pem"))) {
                pki.issueNode(ca, n, CertificateAuthority.LEAF_VALIDITY);
            }
        }
        if (!Files.exists(pki.adminFolder().resolve("cert.pem"))) {
            pki.issueAdmin(ca, CertificateAuthority.LEAF_VALIDITY);
        }
        if (!etcdHosts.isEmpty() && !pki.etcdCovers(etcdHosts)) {
            pki.issueEtcd(ca, etcdHosts, CertificateAuthority.LEAF_VALIDITY);
        }
        return pki;
    }

    /** Whether the etcd server certificate exists and names every host in {@code hosts}. */
    private boolean etcdCovers(List<String> hosts) {
        Path cert = etcdFolder().resolve("cert.pem");
        if (!Files.exists(cert)) {
            return false;
        }
        try {
            var sans = Pem.readCertificate(cert).getSubjectAlternativeNames();
            Set<String> named = new java.util.HashSet<>();
            if (sans != null) {
                sans.forEach(san -> named.add(String.valueOf(san.get(1))));
            }
            return hosts.stream().allMatch(h -> named.contains(h)
                    || named.stream().anyMatch(n -> sameAddress(n, h)));
        } catch (java.security.cert.CertificateParsingException e) {
            return false;
        }
    }

    private static boolean sameAddress(String a, String b) {
        try {
            return (a.contains(":") || a.matches("[0-9.]+")) && (b.contains(":") || b.matches("[0-9.]+"))
                    && java.net.InetAddress.getByName(a).equals(java.net.InetAddress.getByName(b));
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    public boolean exists() {
        return Files.exists(caCertFile());
    }

    public Path folder() {
        return dir;
    }

    public Path caCertFile() {
        return dir.resolve("ca-cert.pem");
    }

    public X509Certificate caCertificate() {
        return Pem.readCertificate(caCertFile());
    }

    /** The CA with its key, to issue certificates; only the admin's copy of the folder has the key. */
    public CertificateAuthority authority() {
        Path key = dir.resolve("ca-key.pem");
        if (!Files.exists(key)) {
            throw new PkiException("the CA's key " + key + " is not on this machine; issue certificates where "
                    + "'ferry cluster create' ran");
        }
        return new CertificateAuthority(new Credential(caCertificate(), Pem.readKey(key)));
    }

    public Path nodeFolder(String node) {
        return dir.resolve("nodes").resolve(node);
    }

    public Path adminFolder() {
        return dir.resolve("admin");
    }

    /** Where the etcd server certificate is ({@code cert.pem}, {@code key.pem}), for the operator's etcd. */
    public Path etcdFolder() {
        return dir.resolve("etcd");
    }

    /** The certificate and key a client of the cluster's etcd presents when it speaks for {@code who}. */
    public Credential of(Identity who) {
        return who.role() == Identity.Role.ADMIN ? admin() : node(who.name());
    }

    /** Node {@code node}'s certificate and key. */
    public Credential node(String node) {
        return read(nodeFolder(node), "node '" + node + "'");
    }

    public Credential admin() {
        return read(adminFolder(), "the admin");
    }

    /** Issues (or replaces) node {@code n}'s certificate, valid for its agent and migration addresses. */
    public Credential issueNode(CertificateAuthority ca, NodeInfo n, Duration validity) {
        Credential c = ca.issue(Identity.node(n.name()), List.of(n.agentHost(), n.migrationAddress()), validity);
        writeCredential(nodeFolder(n.name()), "cert.pem", "key.pem", c);
        return c;
    }

    /** Issues (or replaces) the certificate etcd serves with, valid for {@code hosts} (its endpoints). */
    public Credential issueEtcd(CertificateAuthority ca, List<String> hosts, Duration validity) {
        Credential c = ca.issueService("ferry-etcd", hosts, validity);
        writeCredential(etcdFolder(), "cert.pem", "key.pem", c);
        return c;
    }

    /** Issues (or replaces) the admin's client certificate. */
    public Credential issueAdmin(CertificateAuthority ca, Duration validity) {
        Credential c = ca.issue(Identity.admin(), List.of(), validity);
        writeCredential(adminFolder(), "cert.pem", "key.pem", c);
        return c;
    }

    /** One certificate of the folder and when it expires. */
    public record CertificateState(String who, Path file, Instant notAfter) {
        public long daysLeft(Instant now) {
            return Duration.between(now, notAfter).toDays();
        }

        public boolean expired(Instant now) {
            return !now.isBefore(notAfter);
        }
    }

    /** Every certificate in the folder (CA, admin, nodes) with its expiry; empty without a CA. */
    public List<CertificateState> states() {
        List<CertificateState> out = new ArrayList<>();
        if (!exists()) {
            return out;
        }
        out.add(state("ca", caCertFile()));
        Path admin = adminFolder().resolve("cert.pem");
        if (Files.exists(admin)) {
            out.add(state("admin", admin));
        }
        Path etcd = etcdFolder().resolve("cert.pem");
        if (Files.exists(etcd)) {
            out.add(state("etcd server", etcd));
        }
        Path nodes = dir.resolve("nodes");
        if (Files.isDirectory(nodes)) {
            try (Stream<Path> s = Files.list(nodes)) {
                s.sorted().map(p -> p.resolve("cert.pem")).filter(Files::exists)
                        .forEach(p -> out.add(state("node " + p.getParent().getFileName(), p)));
            } catch (IOException e) {
                throw new PkiException("cannot list " + nodes + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    private static CertificateState state(String who, Path file) {
        return new CertificateState(who, file, Pem.readCertificate(file).getNotAfter().toInstant());
    }

    private static Credential read(Path folder, String who) {
        Path cert = folder.resolve("cert.pem");
        if (!Files.exists(cert)) {
            throw new PkiException("no certificate for " + who + " at " + cert
                    + "; 'ferry cluster add-node' or 'rotate-certs' issues it");
        }
        return new Credential(Pem.readCertificate(cert), Pem.readKey(folder.resolve("key.pem")));
    }

    private void writeCredential(Path folder, String certName, String keyName, Credential c) {
        try {
            Files.createDirectories(dir);
            Files.createDirectories(folder);
            Files.setPosixFilePermissions(folder, FOLDER_MODE);
            // the key first: a certificate on disk always has its key beside it
            AtomicFiles.write(folder.resolve(keyName), Pem.of(c.key()).getBytes(StandardCharsets.US_ASCII), KEY_MODE);
            AtomicFiles.write(folder.resolve(certName), Pem.of(c.certificate()).getBytes(StandardCharsets.US_ASCII),
                    CERT_MODE);
        } catch (IOException e) {
            throw new PkiException("cannot write " + folder + ": " + e.getMessage(), e);
        }
    }
}
