package ferry.cli;

import ferry.agent.ClusterLayout;
import ferry.cluster.ClusterStore;
import ferry.cluster.NodeInfo;
import ferry.cluster.pki.CertificateAuthority;
import ferry.cluster.pki.ClusterPki;
import ferry.cluster.pki.Credential;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ferry cluster rotate-certs}: new certificates (and keys) from the cluster's CA. */
@Command(name = "rotate-certs", mixinStandardHelpOptions = true,
        description = {"Issues new certificates and keys from the cluster's CA, for the nodes named by --node, the "
                + "admin with --admin and, for an etcds:// store, etcd's server certificate with --etcd (all of "
                + "them when none is given; etcd reads its files again at each new connection, so copy them over "
                + "its old ones, no restart needed). A node's certificate names its current agent and migration "
                + "addresses. Needs the CA's key (pki/ca-key.pem), so it runs where the cluster was created. A "
                + "running agent notices its new certificate file within seconds and serves (and calls its peers "
                + "with) the new one; no restart."})
final class ClusterRotateCerts implements Callable<Integer> {
    @Mixin
    ClusterOption cluster;

    @Option(names = "--node", paramLabel = "NODE", split = ",", description = "A node whose certificate to renew (repeatable).")
    List<String> nodes = new ArrayList<>();

    @Option(names = "--admin", description = "Renew the admin's (the CLI's) certificate.")
    boolean admin;

    @Option(names = "--etcd", description = "Renew etcd's server certificate (pki/etcd/), for the store's hosts.")
    boolean etcd;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        ClusterLayout layout = cluster.layout();
        ClusterPki pki = layout.pki();
        CertificateAuthority ca = pki.authority(); // before anything changes: refused where the CA's key is not
        PrintWriter out = spec.commandLine().getOut();
        boolean all = nodes.isEmpty() && !admin && !etcd;
        ferry.cluster.StoreAddress store = layout.storeAddress();
        if (etcd && !store.isTls()) {
            throw new UsageError("--etcd: this cluster's store is " + store + ", not etcd over TLS (etcds://)");
        }
        if ((all || etcd) && store.isTls()) {
            // before the store is opened: an etcd whose certificate expired is reached again once it has the new one
            Credential c = pki.issueEtcd(ca, store.etcdHosts(), CertificateAuthority.LEAF_VALIDITY);
            out.printf("etcd: new server certificate for %s, valid until %s (%s): copy it to etcd's --cert-file and "
                    + "--key-file%n", String.join(", ", store.etcdHosts()), c.notAfter(), pki.etcdFolder());
        }
        try (ClusterStore s = cluster.store()) {
            List<NodeInfo> which = new ArrayList<>();
            for (String n : all ? s.config().nodeNames() : nodes) {
                which.add(s.config().node(n).orElseThrow(() -> new UsageError("unknown node '" + n
                        + "'; the cluster's nodes are " + String.join(", ", s.config().nodeNames()))));
            }
            for (NodeInfo n : which) {
                Credential c = pki.issueNode(ca, n, CertificateAuthority.LEAF_VALIDITY);
                out.printf("node %s: new certificate for %s, valid until %s (%s)%n", n.name(),
                        String.join(", ", new java.util.LinkedHashSet<>(List.of(n.agentHost(), n.migrationAddress()))), c.notAfter(),
                        pki.nodeFolder(n.name()));
            }
        }
        if (all || admin) {
            Credential c = pki.issueAdmin(ca, CertificateAuthority.LEAF_VALIDITY);
            out.printf("admin: new certificate, valid until %s (%s)%n", c.notAfter(), pki.adminFolder());
        }
        out.println("running agents take their new certificate within seconds (their log says so); on other hosts, "
                + "copy each node's pki/nodes/NODE/ there");
        return Main.OK;
    }
}
