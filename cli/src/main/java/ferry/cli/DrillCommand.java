package ferry.cli;

import ferry.cli.drill.Drill;
import ferry.cli.drill.DrillReport;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ferry drill}: fault injection against a throwaway cluster, to trust Ferry's crash recovery on this host. */
@Command(name = "drill", mixinStandardHelpOptions = true,
        description = {"Proves on this host that no fault loses or duplicates a VM: creates a throwaway 2-node cluster "
                + "in a temporary folder with both agents as separate processes (as root each on a host of its "
                + "own: a network namespace, the drill itself in a third; --loopback otherwise), and for each "
                + "scenario boots a bootblock guest, migrates it live and injects a fault: kill -9 of the source "
                + "agent, the target agent, the source QEMU or the target QEMU at each journaled step; SIGTERM of "
                + "an agent mid pre-copy; a 2 s link cut (the target host's link down, or ss -K on loopback; needs "
                + "root) during pre-copy and during postcopy; concurrent and crossing migrations; the source node "
                + "down until its peer acts alone (at three steps); and, with the records in etcd, etcd killed -9 "
                + "and restarted 5 s later at each journaled step. What was killed is started again (a killed QEMU "
                + "is a crashed guest), then it checks: one QEMU runs the guest unpaused, on the store's owner; no "
                + "lock or open journal; no orphan QEMU or volume copy; the guest's memory passes the page oracle. "
                + "Prints a table (or one JSON object) with the counters lost, duplicated, stale_locks, orphans, "
                + "manual_steps; exit 0 only when all are 0.",
                "The cluster's records live in an etcd of its own when Debian's etcd-server is installed "
                + "(--store dir keeps them in the folder). Takes about 4 minutes with --quick, 20 minutes without "
                + "(2 cores, QEMU TCG).",
                "Progress goes to stderr."})
final class DrillCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "Run the representative subset (9 scenarios on etcd) instead of all.")
    boolean quick;

    @Option(names = "--json", description = "Print one JSON object instead of the table (the table goes to stderr).")
    boolean json;

    @Option(names = "--only", paramLabel = "TEXT",
            description = "Run only the scenarios whose name contains TEXT (e.g. 'target QEMU', 'at move-owner').")
    String only;

    @Option(names = "--keep", description = "Keep the cluster folder (journals, task logs, agent logs) to look into.")
    boolean keep;

    @Option(names = "--hosts", description = {"Run each node on its own host: network namespaces a and b, the agents and QEMUs inside, the "
                + "drill and etcd in ctl, links shaped to 1gbit; the link cuts are 'ip link set down' of the "
                + "target's link. The default where namespaces can be made (root)."})
    boolean hosts;

    @Option(names = "--loopback", description = "Run both nodes on this host's loopback instead (link cuts by ss -K).")
    boolean loopback;

    /** Set by the outer {@code drill --hosts} for its child inside ctl: the network exists, with this prefix. */
    @Option(names = "--in-network", hidden = true, paramLabel = "PREFIX")
    String inNetwork;

    /** Set by the outer {@code drill --hosts}: the (empty) folder to use, which the outer removes. */
    @Option(names = "--work-dir", hidden = true, paramLabel = "DIR")
    java.nio.file.Path workDir;

    @Option(names = "--store", paramLabel = "KIND",
            description = "etcd (default when etcd is installed: a real etcd of the drill's own) or dir (the folder).")
    String store;

    /** The drill's migrations are bandwidth-limited far below this: the link only carries them. */
    private static final long HOSTS_LINK_BITS_PER_S = 1_000_000_000L;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private java.util.List<String> childArgs() {
        java.util.List<String> args = new java.util.ArrayList<>();
        if (quick) {
            args.add("--quick");
        }
        if (json) {
            args.add("--json");
        }
        if (only != null) {
            args.addAll(java.util.List.of("--only", only));
        }
        if (store != null) {
            args.addAll(java.util.List.of("--store", store));
        }
        if (keep) {
            args.add("--keep");
        }
        return args;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String noEtcd = ferry.testkit.etcd.EtcdServer.unavailableReason();
        if (store != null && !store.equals("etcd") && !store.equals("dir")) {
            throw new UsageError("--store must be etcd or dir, got '" + store + "'");
        }
        if ("etcd".equals(store) && noEtcd != null) {
            throw new UsageError("--store etcd: " + noEtcd);
        }
        boolean onEtcd = store == null ? noEtcd == null : store.equals("etcd");
        if (hosts && loopback) {
            throw new UsageError("--hosts and --loopback exclude each other");
        }
        String noHosts = ferry.testkit.netns.HostNetwork.unavailableReason();
        if (hosts && noHosts != null) {
            throw new UsageError("--hosts runs each node in its own network namespace, which this machine cannot do: "
                    + noHosts + "; run the drill with --loopback, or as root");
        }
        if (inNetwork == null && !loopback && noHosts == null) {
            return AcrossHosts.run("drill", HOSTS_LINK_BITS_PER_S, childArgs(), json, keep, out, err);
        }
        ferry.testkit.netns.HostNetwork net = inNetwork == null ? null
                : ferry.testkit.netns.HostNetwork.attach(inNetwork, Drill.NODES);
        DrillReport report = new Drill(err).run(quick, only, keep, onEtcd, net, workDir);
        if (json) {
            report.printTable(err);
            out.println(VmCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report.json()));
        } else {
            report.printTable(out);
        }
        out.flush();
        return report.passed() ? Main.OK : Main.FAILED;
    }
}
