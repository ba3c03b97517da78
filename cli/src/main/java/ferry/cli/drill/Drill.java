package ferry.cli.drill;

import static ferry.cli.drill.DrillCluster.A;
import static ferry.cli.drill.DrillCluster.B;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.cluster.ClusterStore;
import ferry.cluster.VmRecord;
import ferry.migration.MigrationStep;
import ferry.node.LocalNode;
import ferry.testkit.etcd.EtcdServer;
import ferry.testkit.netns.HostNetwork;
import java.nio.file.Path;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Runs scenarios one after the other on one throwaway cluster, each with fresh VMs: inject the
 * fault, bring back what was killed, wait until the migrations settle (journal closed, lock
 * dropped) while watching that the guest never runs twice, stop the agents, check the
 * invariants, stop the scenario's VMs.
 */
public final class Drill {
    /** The steps a process is killed at: every one that the plain pre-copy path journals. */
    static final List<MigrationStep> KILL_STEPS = List.of(MigrationStep.LOCK, MigrationStep.START_INCOMING,
            MigrationStep.MIGRATE, MigrationStep.MOVE_OWNER, MigrationStep.RESUME_TARGET, MigrationStep.TARGET_RUNNING,
            MigrationStep.STOP_SOURCE, MigrationStep.UNLOCK);
    /** Bounded: a hand-over waiting for a restarted agent retries every 2 s; recovery runs at agent start. */
    private static final Duration SETTLE = Duration.ofSeconds(90);
    private static final int FIRST_VMID = 100;

    /** The drill cluster's nodes (the hosts of {@code drill --hosts}). */
    public static final List<String> NODES = DrillCluster.NODES;

    private final PrintWriter progress;

    public Drill(PrintWriter progress) {
        this.progress = progress;
    }

    /**
     * The representative subset: the faults that were real bugs once, crossing migrations, a source
     * node down until its peer acts, and (on etcd) the store killed mid-migration.
     */
    static List<Scenario> quick(boolean onEtcd) {
        List<Scenario> out = new ArrayList<>(List.of(KillAtStep.at(Victim.SOURCE_AGENT, MigrationStep.MIGRATE),
                KillAtStep.at(Victim.TARGET_AGENT, MigrationStep.MOVE_OWNER),
                KillAtStep.at(Victim.SOURCE_AGENT, MigrationStep.RESUME_TARGET),
                KillAtStep.at(Victim.TARGET_QEMU, MigrationStep.RESUME_TARGET),
                new StopAgentMidMigration(Victim.SOURCE_AGENT),
                new TwoMigrations(true),
                SourceNodeDown.at(MigrationStep.MIGRATE)));
        if (onEtcd) {
            out.add(EtcdOutage.at(MigrationStep.MIGRATE));
            out.add(EtcdOutage.at(MigrationStep.MOVE_OWNER));
        }
        return out;
    }

    /**
     * Every victim at every step, both polite stops, both link cuts, concurrent and crossing
     * migrations, the source node down at three steps, and (on etcd) etcd killed at every step.
     */
    static List<Scenario> all(boolean onEtcd) {
        List<Scenario> out = new ArrayList<>();
        for (Victim v : Victim.values()) {
            for (MigrationStep s : KILL_STEPS) {
                if (v == Victim.TARGET_QEMU && s == MigrationStep.LOCK) {
                    continue; // no target QEMU exists yet: the kill would land at start-incoming, tested next
                }
                out.add(KillAtStep.at(v, s));
            }
        }
        out.add(new StopAgentMidMigration(Victim.SOURCE_AGENT));
        out.add(new StopAgentMidMigration(Victim.TARGET_AGENT));
        String noCut = LinkCutter.unavailable();
        if (noCut == null) {
            out.add(new LinkCut(false));
            out.add(new LinkCut(true));
        }
        out.add(new TwoMigrations(false));
        out.add(new TwoMigrations(true));
        for (MigrationStep s : List.of(MigrationStep.MIGRATE, MigrationStep.MOVE_OWNER, MigrationStep.RESUME_TARGET)) {
            out.add(SourceNodeDown.at(s));
        }
        if (onEtcd) {
            KILL_STEPS.forEach(s -> out.add(EtcdOutage.at(s)));
        }
        return out;
    }

    /**
     * Runs the quick subset or every scenario ({@code only}: those whose name contains it) on a
     * fresh throwaway cluster, removed at the end unless {@code keep} (its journals, task logs and
     * agent logs are then left for a look).
     */
    public DrillReport run(boolean quick, String only, boolean keep, boolean onEtcd) throws Exception {
        return run(quick, only, keep, onEtcd, null, null);
    }

    /**
     * The same on namespaced hosts when {@code net} is given (this process runs in its ctl host;
     * {@code workDir} is the folder to use, made and removed by the caller); null: on loopback.
     */
    public DrillReport run(boolean quick, String only, boolean keep, boolean onEtcd, HostNetwork net, Path workDir)
            throws Exception {
        List<Scenario> chosen = (quick ? quick(onEtcd) : all(onEtcd)).stream()
                .filter(s -> only == null || s.name().contains(only)).toList();
        if (chosen.isEmpty()) {
            throw new IllegalArgumentException("no scenario of the " + (quick ? "quick" : "full") + " drill is named '"
                    + only + "'; the names are shown in the table of a run");
        }
        String noCut = quick || net != null ? null : LinkCutter.unavailable(); // the quick subset cuts no link
        List<String> skipped = new ArrayList<>();
        if (noCut != null) {
            skipped.add("link cuts not run: " + noCut);
        }
        if (!onEtcd) {
            skipped.add("etcd outages not run: the records are in the cluster folder"
                    + (EtcdServer.unavailableReason() == null ? "" : " (" + EtcdServer.unavailableReason() + ")"));
        }
        return run(chosen, keep, onEtcd, net, workDir, skipped.isEmpty() ? null : String.join("; ", skipped));
    }

    DrillReport run(List<Scenario> scenarios, boolean keep, boolean onEtcd, HostNetwork net, Path workDir,
                    String skipped) throws Exception {
        List<ScenarioResult> results = new ArrayList<>();
        try (DrillCluster c = DrillCluster.create(keep, onEtcd, net, workDir)) {
            say("cluster: 2 nodes (a, b), agents as separate processes "
                    + (net == null ? "on loopback" : "each in its host's network namespace") + ", records in "
                    + (onEtcd ? "etcd at " + c.etcd().storeAddress() : "the folder") + ", in " + c.layout().dir()
                    + (keep ? " (kept at the end)" : " (removed at the end)"));
            int vmid = FIRST_VMID;
            for (int i = 0; i < scenarios.size(); i++) {
                Scenario s = scenarios.get(i);
                say(String.format("[%d/%d] %s ...", i + 1, scenarios.size(), s.name()));
                ScenarioResult r = runOne(c, s, vmid);
                vmid += s.vmCount();
                results.add(r);
                say(String.format("[%d/%d] %s: %s, %s (%d s)%s", i + 1, scenarios.size(), s.name(), r.outcome(),
                        r.passed() ? "ok" : "FAILED", r.seconds(), r.passed() ? "" : "\n    " + String.join("\n    ",
                                r.error() != null ? List.of(r.error()) : r.findings().details)));
            }
        }
        return new DrillReport(results, skipped, onEtcd ? "etcd" : "directory", net == null ? "loopback" : "netns");
    }

    private ScenarioResult runOne(DrillCluster c, Scenario s, int vmid) {
        long t0 = System.nanoTime();
        Findings f = new Findings();
        List<String> notes = new ArrayList<>();
        List<Scenario.Tracked> tracked = List.of();
        String error = null;
        try {
            c.startAgents();
            Scenario.Run run = s.run(c, vmid);
            tracked = run.tracked();
            notes.addAll(run.notes());
            c.startAgents(); // whatever the fault left down comes back, as an operator would do
            settle(c, tracked, f);
        } catch (Exception e) {
            error = "the drill could not carry out the scenario: " + e;
        }
        try {
            for (String n : DrillCluster.NODES) {
                if (!c.stopAgent(n)) {
                    notes.add("the agent of node '" + n + "' did not stop within 2 min and was killed");
                }
            }
            InvariantCheck check = new InvariantCheck(c);
            for (Scenario.Tracked t : tracked) {
                notes.add("journal of " + t.task() + ": " + String.join(", ", c.journals().kinds(t.task()))
                        + " -> " + c.journals().outcome(t.task()));
                f.add(check.check(t));
            }
        } catch (Exception e) {
            error = error != null ? error : "the drill could not check the invariants: " + e;
        } finally {
            stopVms(c, vmid, s.vmCount());
        }
        String outcome = f.outcomes.isEmpty() ? (error != null ? "drill error" : "-") : String.join("; ", f.outcomes);
        return new ScenarioResult(s.name(), outcome, f, notes, error, (System.nanoTime() - t0) / 1_000_000_000L);
    }

    /**
     * Waits until every tracked migration's journal is closed and its VM unlocked; meanwhile asks
     * both agents how each VM's QEMU runs, to catch a guest running on both nodes at once.
     */
    private void settle(DrillCluster c, List<Scenario.Tracked> tracked, Findings f) throws InterruptedException {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        Set<Integer> twice = new HashSet<>();
        f.check("never ran twice while settling");
        try (ClusterStore store = c.layout().open()) {
            while (System.nanoTime() < deadline) {
                boolean settled = true;
                for (Scenario.Tracked t : tracked) {
                    JsonNode onA = c.qemuState(A, t.vmid());
                    JsonNode onB = c.qemuState(B, t.vmid());
                    if (running(onA) && running(onB) && twice.add(t.vmid())) {
                        f.duplicated++;
                        f.details.add("VM " + t.vmid() + " ran unpaused on both nodes at once (task " + t.task() + ")");
                    }
                    settled &= c.journals().closed(t.task())
                            && !store.vm(t.vmid()).map(VmRecord::locked).orElse(false);
                }
                if (settled) {
                    return;
                }
                Thread.sleep(200);
            }
        }
        f.details.add("not settled within " + SETTLE.toSeconds() + " s");
    }

    private static boolean running(JsonNode state) {
        return state != null && state.path("run_state").asText().equals("running");
    }

    /** The scenario's guests are done with: stop their QEMUs so the next scenario has the CPUs. */
    private static void stopVms(DrillCluster c, int firstVmid, int count) {
        for (String n : DrillCluster.NODES) {
            LocalNode node = c.localNode(n);
            for (int id = firstVmid; id < firstVmid + count; id++) {
                try {
                    node.stop(id, Duration.ofSeconds(5));
                } catch (RuntimeException e) {
                    // killed below
                }
                c.qemuProcesses(n, id).forEach(ProcessHandle::destroyForcibly);
            }
            node.disconnectAll();
        }
    }

    private void say(String line) {
        progress.println("drill: " + line);
        progress.flush();
    }
}
