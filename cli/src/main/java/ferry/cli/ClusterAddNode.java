package ferry.cli;

import ferry.agent.ClusterLayout;
import ferry.cluster.ClusterStore;
import ferry.cluster.NodeInfo;
import ferry.cluster.pki.CertificateAuthority;
import ferry.cluster.pki.ClusterPki;
import ferry.cluster.pki.Credential;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry cluster add-node}: a new member in the cluster's records, with its certificate. */
@Command(name = "add-node", mixinStandardHelpOptions = true,
        description = {"Adds a node to the cluster: its agent address and migration address go into the cluster's "
                + "config (in the folder or in etcd), and the cluster's CA issues its certificate "
                + "(pki/nodes/NODE/). Needs the CA's key, so it runs where the cluster was created. Running agents "
                + "learn of the new peer when they restart."})
final class ClusterAddNode implements Callable<Integer> {
    @Mixin
    ClusterOption cluster;

    @Parameters(paramLabel = "NAME", description = "The new node's name.")
    String name;

    @Option(names = "--agent", required = true, paramLabel = "HOST:PORT", description = "Where its agent will listen.")
    String agent;

    @Option(names = "--migration-address", paramLabel = "HOST",
            description = "The address migration streams to it use (default: the agent's host).")
    String migrationAddress;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        ClusterLayout layout = cluster.layout();
        ClusterPki pki = layout.pki();
        CertificateAuthority ca = pki.authority(); // before the config changes: refused where the CA's key is not
        NodeInfo node;
        try {
            String host = hostOf(agent);
            node = new NodeInfo(name, agent, migrationAddress != null ? migrationAddress : host);
        } catch (ferry.cluster.ClusterException e) {
            throw new UsageError(e.getMessage());
        }
        try (ClusterStore s = cluster.store()) {
            s.addNode(node);
        } catch (ferry.cluster.ClusterException e) {
            throw new UsageError("cannot add node '" + name + "': " + e.getMessage());
        }
        Credential c = pki.issueNode(ca, node, CertificateAuthority.LEAF_VALIDITY);
        spec.commandLine().getOut().printf("added node %s (agent %s, migrations to %s); its certificate, valid until "
                + "%s, is in %s; on its host it needs the cluster folder with pki/ca-cert.pem and that folder; "
                + "restart the running agents so they know it ('ferry cluster down', then 'up')%n", name,
                node.agentAddress(), node.migrationAddress(), c.notAfter(), pki.nodeFolder(name));
        return Main.OK;
    }

    /** The host of HOST:PORT ([v6]:PORT), without brackets. */
    private static String hostOf(String address) {
        int colon = address.lastIndexOf(':');
        String host = colon < 0 ? address : address.substring(0, colon);
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }
}
