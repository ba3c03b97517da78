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
        description = {"Proves on this host that no fault loses or duplicates a VM: creates a throwaway 2-node",
                "cluster in a temporary folder with both agents as separate processes, and for each scenario",
                "boots a bootblock guest, migrates it live and injects a fault: kill -9 of the source agent,",
                "the target agent, the source QEMU or the target QEMU at each journaled step; SIGTERM of an",
                "agent mid pre-copy; a 2 s link cut (ss -K, needs root) during pre-copy and during postcopy;",
                "concurrent and crossing migrations; the source node down until its peer acts alone (at",
                "three steps); and, with the records in etcd, etcd killed -9 and restarted 5 s later at each",
                "journaled step. What was killed is started again (a killed QEMU is a",
                "crashed guest), then it checks: one QEMU runs the guest unpaused, on the store's owner; no",
                "lock or open journal; no orphan QEMU or volume copy; the guest's memory passes the page",
                "oracle. Prints a table (or one JSON object) with the counters lost, duplicated,",
                "stale_locks, orphans, manual_steps; exit 0 only when all are 0.",
                "The cluster's records live in an etcd of its own when Debian's etcd-server is installed",
                "(--store dir keeps them in the folder). Takes about 4 minutes with --quick, 20 minutes",
                "without (2 cores, QEMU TCG).",
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

    @Option(names = "--store", paramLabel = "KIND",
            description = "etcd (default when etcd is installed: a real etcd of the drill's own) or dir (the folder).")
    String store;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

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
        DrillReport report = new Drill(err).run(quick, only, keep, onEtcd);
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
