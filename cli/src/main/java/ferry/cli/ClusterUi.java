package ferry.cli;

import ferry.agent.ClusterLayout;
import ferry.cluster.ClusterStore;
import ferry.cluster.NodeInfo;
import ferry.cluster.pki.AccessTokens;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ferry cluster ui}: where each node's web UI is, and the password that logs in to it. */
@Command(name = "ui", mixinStandardHelpOptions = true,
        description = {"Prints the address of every node's web UI and the password to log in with (pki/ui-password, "
                + "written by 'cluster create'; made now, 0600, for a cluster created before it). Logged in, the "
                + "browser has the admin's rights on that node, as the ferry CLI; a session lasts 12 hours.",
                "The agents serve with certificates of the cluster's own CA: import pki/ca-cert.pem into the "
                + "browser as a trusted authority (or accept its warning once per node). Nodes on other hosts "
                + "need the same pki/ui-password file as the folder here."})
final class ClusterUi implements Callable<Integer> {
    @Mixin
    ClusterOption cluster;

    @Option(names = "--json", description = "Print one JSON object: password, password_file, ca_file, nodes (name, url).")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        ClusterLayout layout = cluster.layout();
        AccessTokens tokens = AccessTokens.in(layout.dir()).ensure();
        String password = tokens.uiPassword().orElseThrow(() -> new UsageError(tokens.uiPasswordFile() + " is empty; "
                + "delete it and run 'ferry cluster ui' again to make a new one"));
        PrintWriter out = spec.commandLine().getOut();
        var report = VmCommand.JSON.createObjectNode().put("password", password)
                .put("password_file", tokens.uiPasswordFile().toString())
                .put("ca_file", layout.pki().caCertFile().toString());
        var nodes = report.putArray("nodes");
        try (ClusterStore s = cluster.store()) {
            for (NodeInfo n : s.config().nodes()) {
                String url = "https://" + n.agentAddress() + "/ui/";
                nodes.addObject().put("name", n.name()).put("url", url);
                if (!json) {
                    out.printf("node %-10s %s%n", n.name(), url);
                }
            }
        }
        if (json) {
            out.println(report.toPrettyString());
        } else {
            out.printf("password: %s   (%s)%ntrust the cluster's CA in the browser: %s%n", password,
                    tokens.uiPasswordFile(), layout.pki().caCertFile());
        }
        return Main.OK;
    }
}
