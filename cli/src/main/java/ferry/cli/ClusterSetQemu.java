package ferry.cli;

import ferry.cluster.ClusterStore;
import ferry.cluster.NodeQemu;
import ferry.node.NodeException;
import ferry.node.QemuBinary;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry cluster set-qemu}: which QEMU a node starts its VMs with. */
@Command(name = "set-qemu", mixinStandardHelpOptions = true,
        description = {"Sets the QEMU installation a node starts its VMs with, in the cluster's config: a binary, its "
                + "module folder (QEMU_MODULE_DIR, for that QEMU's processes only) and its data folders (-L, searched "
                + "first). For a node that keeps an older QEMU during an upgrade, e.g. Debian's 7.2 unpacked into "
                + "a folder beside 10.0. --installed goes back to the QEMU installed on the host.",
                "The QEMU is checked here (it must run and print its version) when this host is the node's; its "
                + "agent uses it from its next start ('ferry cluster down', then 'up'). VMs that run keep their "
                + "QEMU until they stop or migrate."})
final class ClusterSetQemu implements Callable<Integer> {
    @Mixin
    ClusterOption cluster;

    @Parameters(paramLabel = "NODE", description = "The node.")
    String node;

    @Option(names = "--binary", paramLabel = "PATH", description = "The system emulator (absolute path).")
    Path binary;

    @Option(names = "--module-dir", paramLabel = "DIR", description = "Its module folder (absolute path).")
    Path moduleDir;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "A data (firmware) folder; repeat for more.")
    List<Path> dataDirs = List.of();

    @Option(names = "--installed", description = "Use the QEMU installed on the host again.")
    boolean installed;

    @Option(names = "--no-check", description = "Do not run the binary here (it is on another host).")
    boolean noCheck;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (installed == (binary != null)) {
            throw new UsageError("give either --binary (with --module-dir and --data-dir if it needs them) or "
                    + "--installed");
        }
        NodeQemu q;
        String version = "installed";
        try {
            q = installed ? null : new NodeQemu(binary.toAbsolutePath().toString(),
                    moduleDir == null ? null : moduleDir.toAbsolutePath().toString(),
                    dataDirs.stream().map(d -> d.toAbsolutePath().toString()).toList());
            if (q != null && !noCheck) {
                // before the config changes: a QEMU that does not start would stop the node's agent
                QemuBinary b = QemuBinary.of(binary.toAbsolutePath(), moduleDir == null ? null
                        : moduleDir.toAbsolutePath(), dataDirs.stream().map(Path::toAbsolutePath).toList());
                version = "QEMU " + b.version();
            }
        } catch (ferry.cluster.ClusterException | NodeException e) {
            throw new UsageError("node '" + node + "': " + e.getMessage() + "; nothing changed");
        }
        try (ClusterStore s = cluster.store()) {
            s.setQemu(node, q);
        } catch (ferry.cluster.ClusterException e) {
            throw new UsageError(e.getMessage());
        }
        spec.commandLine().getOut().printf("node %s starts its VMs with %s%s; restart its agent to use it "
                + "('ferry cluster down', then 'up')%n", node, q == null ? "the QEMU installed on its host" : q.binary(),
                q == null ? "" : " (" + version + ")");
        return Main.OK;
    }
}
