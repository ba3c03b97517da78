package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.Agent;
import ferry.agent.AgentClient;
import ferry.agent.ClusterLayout;
import ferry.cli.libvirt.LibvirtGuest;
import ferry.cli.libvirt.LibvirtPair;
import ferry.cli.libvirt.TimedCommand;
import ferry.node.QemuBinary;
import ferry.node.VmDefinition;
import ferry.node.Volumes;
import ferry.testkit.BlockWriter;
import ferry.testkit.LinuxStressGuest;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry bench}: every policy on the same scenarios, side by side, on the linux-stress guest
 * behind a fixed bandwidth limit on loopback. Each scenario first measures its floor: the same
 * guest paused and sent once.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmarks the convergence policies (qemu-default: virsh migrate --live's defaults; classic: "
                + "Proxmox's; kubevirt and ovirt: emulations of those peers' defaults; budget) on three scenarios "
                + "with the linux-stress guest behind a fixed max-bandwidth on loopback: S1 idle, S2 dirtying "
                + "about half the bandwidth, S3 dirtying more than the bandwidth; S4 a local disk the guest writes "
                + "to, mirrored with each mirror mode (auto, background, write-blocking). Per run: outcome, QEMU "
                + "downtime, the pause the guest saw (its own clock), total time and its ratio to the floor (the "
                + "paused guest sent once), bytes, passes, max throttle, the planner's prediction, the overhead "
                + "(wall time less QEMU's) and the guest's work during the migration against its rate before. "
                + "Writes a Markdown table, JSON and an SVG plot of remaining bytes over time to --out (default "
                + "bench-results/). Takes ~11 minutes with --quick (kubevirt waits 150 s on S3), ~30 without.",
                "Exit codes: 0 done (whatever the outcomes), 1 the bench itself failed, 2 bad usage."})
final class BenchCommand implements Callable<Integer> {
    static final int BASE_VMID = 700;
    static final int MEMORY_MIB = 256;
    static final int DIRTY_MIB = 64;
    static final int BANDWIDTH_MIB = 32;
    static final int BUDGET_MS = 300;
    static final List<String> POLICIES = List.of("qemu-default", "classic", "kubevirt", "ovirt", "budget");
    /** How long the guest's rate is measured before each migration. */
    static final long RATE_BEFORE_MS = 3000;
    /**
     * How long S4's disk writer is counted before each migration: its rate over one second varies by
     * about a fifth (3.3 to 5.3 MB/s over 12 s), and 3 s read 2.1 to 4.5 MB/s across runs, so the
     * share of writes kept swung from 0.68 to 1.37 with the baseline alone.
     */
    static final long DISK_RATE_BEFORE_MS = 10_000;

    /** The stressor's rate 0 means flat out, so "idle" is 1 MiB/s over 1 MiB. */
    record Scenario(String name, int dirtyMiB, int rateMiBps, String what) {}

    /** S4: a local disk the guest writes to throughout, mirrored live; one run per mirror mode. */
    static final String DISK_SCENARIO = "S4";
    static final int DISK_MIB = 512;
    static final int DISK_WRITER_BLOCKS = 4096; // the guest rewrites 16 MiB of it round and round
    static final int DISK_WRITER_KIB = 4096;
    static final int DISK_DIRTY_MIB = 32;
    static final int DISK_DIRTY_RATE = 8;
    static final List<String> MIRROR_MODES = List.of("auto", "background", "write-blocking");

    static final List<Scenario> SCENARIOS = List.of(
            new Scenario("S1", 1, 1, "idle"),
            new Scenario("S2", DIRTY_MIB, BANDWIDTH_MIB / 2, "dirty about half the bandwidth"),
            new Scenario("S3", DIRTY_MIB, BANDWIDTH_MIB * 3 / 2, "dirty more than the bandwidth"));

    @Option(names = "--quick", description = "One repetition per scenario and policy (S3 with every policy included).")
    boolean quick;

    @Option(names = "--reps", paramLabel = "N", description = "Repetitions per scenario and policy (default 3, --quick 1).")
    Integer reps;

    @Option(names = "--scenario", paramLabel = "S", split = ",", description = "Only these scenarios (S1,S2,S3,S4).")
    List<String> only;

    @Option(names = "--policies", paramLabel = "P", split = ",", description = "Only these policies in S1-S3 "
            + "(default all: qemu-default, classic, kubevirt, ovirt, budget).")
    List<String> policies;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "bench-results", description = "Where reports go (default bench-results/).")
    Path outDir;

    @Option(names = "--tls-cost", description = {"Only measure what TLS costs the stream: an idle guest (S1's rate, "
            + "384 of 512 MiB written), paused, sent without a bandwidth limit alternately over TLS and plain TCP "
            + "(--reps pairs, default 3); prints both median rates and their ratio.", "JSON: {tls_cost: {...}}."})
    boolean tlsCost;

    @Option(names = "--scale", description = {"Only measure how one migration's cost grows with the guest's RAM: "
            + "S2's dirty rate and bandwidth (16 MiB/s over 64 MiB, 32 MiB/s) with guests of 256 MiB, 1 GiB and "
            + "4 GiB, one migration each with the budget policy (or the first of --policies). Per size: QEMU's total "
            + "time, the wall time, bytes sent, passes, downtime and the peak heap of this JVM, which hosts both "
            + "agents; each also as a factor of the smallest guest's. Takes about a minute.",
            "JSON: {scale: {policy, runs: [...]}}."})
    boolean scale;

    @Option(names = "--libvirt", description = {"Only compare Ferry with the real libvirt on this host (root; install "
            + "libvirt once with scripts/install-deps --libvirt): S1 and S3 (or --scenario), --reps pairs (default 3) "
            + "in turns. `virsh migrate --live` (S3: --postcopy --postcopy-after-precopy, libvirt's answer to a guest "
            + "that dirties faster than the link) against two libvirt daemons, beside `ferry migrate --online` (S3: "
            + "--allow-postcopy) with its default policy; the same guest, 32 MiB/s, plain TCP on loopback for both. "
            + "Per run: the wall time around the command, QEMU's total, the overhead (the difference), the downtime, "
            + "the guest's own pause and the bytes; then the medians side by side. About 3 minutes.",
            "JSON: {libvirt: {versions, runs: [...], medians: [...]}}."})
    boolean libvirt;

    @Option(names = "--json", description = "Print one JSON object ({runs: [...]}) instead of progress lines.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private PrintWriter out;
    private int nextVmid = BASE_VMID;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        int n = reps != null ? reps : quick ? 1 : 3;
        if (n < 1 || n > 20) {
            throw new UsageError("--reps must be between 1 and 20");
        }
        List<Scenario> scenarios = SCENARIOS.stream().filter(s -> only == null || only.contains(s.name())).toList();
        List<String> rows = policies == null ? POLICIES : List.copyOf(policies);
        for (String p : rows) {
            if (!POLICIES.contains(p)) {
                throw new UsageError("--policies: unknown policy '" + p + "'; choose from " + String.join(", ", POLICIES));
            }
        }
        if ((scale ? 1 : 0) + (tlsCost ? 1 : 0) + (libvirt ? 1 : 0) > 1) {
            throw new UsageError("--scale, --tls-cost and --libvirt are different measurements: give one of them");
        }
        String noLibvirt = libvirt ? LibvirtPair.unavailableReason() : null;
        if (noLibvirt != null) {
            throw new UsageError("--libvirt: " + noLibvirt);
        }
        boolean disks = only == null || only.contains(DISK_SCENARIO);
        if (scenarios.isEmpty() && !disks) {
            throw new UsageError("--scenario names none of S1, S2, S3, S4");
        }
        if (!LinuxStressGuest.available()) {
            throw new UsageError("the bench needs the linux-stress guest: " + LinuxStressGuest.unavailableReason());
        }
        Path dir = Files.createTempDirectory("ferry-bench");
        Agent a = null;
        Agent b = null;
        try {
            ClusterLayout layout = ClusterLayout.createOnFreePorts(dir.resolve("cluster"), "bench", List.of("a", "b"));
            if (tlsCost || libvirt) {
                // the TLS cost's baseline is the plain stream; libvirt's stream is plain TCP
                System.setProperty(Agent.ALLOW_PLAIN_STREAMS, "true");
            }
            a = Agent.start(layout.dir(), "a");
            b = Agent.start(layout.dir(), "b");
            Map<String, AgentClient> agents = new LinkedHashMap<>();
            for (String node : List.of("a", "b")) {
                agents.put(node, layout.adminClient(node));
            }
            if (tlsCost) {
                return tlsCost(layout, agents, n);
            }
            if (scale) {
                return scale(layout, agents, policies == null ? "budget" : policies.get(0));
            }
            if (libvirt) {
                return libvirt(layout, agents, only == null ? List.of(SCENARIOS.get(0), SCENARIOS.get(2)) : scenarios,
                        reps != null ? reps : 3, dir);
            }
            List<BenchRun> runs = new ArrayList<>();
            for (Scenario sc : scenarios) {
                say("%s (%s, %d MiB/s over %d MiB): measuring the floor", sc.name(), sc.what(), sc.rateMiBps(), sc.dirtyMiB());
                long floor = floor(layout, agents, sc);
                say("%s floor: %d ms", sc.name(), floor);
                for (int rep = 1; rep <= n; rep++) {
                    for (String policy : rows) {
                        BenchRun r = run(layout, agents, sc, policy, rep, floor);
                        runs.add(r);
                        say("%s %-12s #%d: %s, downtime %s ms, guest pause %s ms, total %d ms (%.1fx floor), %s sent, "
                                        + "%s passes, max throttle %s%%, predicted %s, overhead %s ms, guest work %s",
                                sc.name(), policy, rep, r.outcome(), r.downtimeMs(),
                                r.guestPauseMs() == null ? "<50" : r.guestPauseMs(), r.totalMs(),
                                r.totalMs() / (double) Math.max(1, floor), mib(r.transferredBytes()), r.passes(),
                                r.maxThrottlePercent(), r.predicted() == null ? "?" : (r.predicted().converges()
                                        ? "converges in " : "not converged after ") + r.predicted().totalMs() + " ms",
                                r.overheadMs(), r.guestWork() == null || r.guestWork().ratio() == null ? "?"
                                        : String.format(Locale.ROOT, "%.2f", r.guestWork().ratio()));
                    }
                }
            }
            List<DiskBenchRun> diskRuns = new ArrayList<>();
            if (disks) {
                say("%s (a %d MiB local disk the guest writes %d KiB/s to, RAM dirtied at %d MiB/s)", DISK_SCENARIO,
                        DISK_MIB, DISK_WRITER_KIB, DISK_DIRTY_RATE);
                for (int rep = 1; rep <= n; rep++) {
                    for (String mode : MIRROR_MODES) {
                        DiskBenchRun r = runDisk(layout, agents, mode, rep);
                        diskRuns.add(r);
                        say("%s %-14s #%d: %s (started %s), total %d ms, downtime %s ms, disk %s, RAM %s, guest writes "
                                        + "%s of their rate before", DISK_SCENARIO, mode, rep, r.outcome(), r.started(),
                                r.totalMs(), r.downtimeMs(), mib(r.diskBytes()), mib(r.ramBytes()),
                                r.writeShare() == null ? "?" : String.format(Locale.ROOT, "%.0f%%", r.writeShare() * 100));
                    }
                }
            }
            Map<String, String> setup = new LinkedHashMap<>();
            setup.put("QEMU", QemuBinary.find().version() + ", TCG, loopback");
            setup.put("guest", "linux-stress, " + MEMORY_MIB + " MiB RAM");
            setup.put("max-bandwidth", BANDWIDTH_MIB + " MiB/s");
            setup.put("streams", "over TLS (QEMU's tls-creds-x509, the cluster's node certificates; --tls-cost measures "
                    + "what that costs)");
            if (!scenarios.isEmpty()) {
                setup.put("scenarios", String.join("; ", scenarios.stream().map(s -> s.name() + " " + s.what() + " ("
                        + s.rateMiBps() + " MiB/s over " + s.dirtyMiB() + " MiB)").toList()));
                setup.put("policies", String.join("; ", rows.stream().map(BenchCommand::describe).toList()));
            }
            setup.put("time limit", "each policy's default (at least 60 s)");
            setup.put("repetitions", Integer.toString(n));
            if (disks) {
                setup.put("S4", "a " + DISK_MIB + " MiB raw local disk (virtio, cache none) the guest's block writer "
                        + "rewrites " + DISK_WRITER_BLOCKS * 4 / 1024 + " MiB of at " + DISK_WRITER_KIB + " KiB/s with "
                        + "O_DIRECT|O_SYNC, RAM dirtied at " + DISK_DIRTY_RATE + " MiB/s over " + DISK_DIRTY_MIB
                        + " MiB; --with-local-disks, budget policy; mirror modes " + String.join(", ", MIRROR_MODES)
                        + "; guest writes = acknowledged writes per second before vs during the migration");
            }
            setup.put("floor", "the same guest paused, then migrated once");
            if (!scenarios.isEmpty()) {
                setup.put("predicted", "the planner's view for the policy, made before the stream starts: converges "
                        + "within the policy's limits, and QEMU's total time");
                setup.put("overhead", "the migration's wall time less QEMU's total time");
                setup.put("guest work", "the stressor's loop slices done during the migration (its whole wall time) ÷ "
                        + "(its slices per second over " + RATE_BEFORE_MS / 1000 + " s before × the duration); it "
                        + "makes up at most one slice after a late wake-up, so a throttle shows (held at 80% it runs "
                        + "~40%); JSON guest_dirty_ratio is the same in MiB dirtied");
            }
            setup.put("guest pause", "the longest pause the guest's own clock saw; it notices pauses above "
                    + BenchReport.GUEST_PAUSE_RESOLUTION_MS + " ms (shorter: <" + BenchReport.GUEST_PAUSE_RESOLUTION_MS
                    + " here, null in JSON)");
            BenchReport report = new BenchReport(runs, setup, diskRuns);
            List<Path> written = report.write(outDir);
            if (json) {
                ObjectNode o = report.json();
                o.set("files", VmCommand.JSON.valueToTree(written.stream().map(Path::toString).toList()));
                out.println(VmCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o));
            } else {
                out.println();
                out.println(report.markdown());
                written.forEach(p -> out.println("wrote " + p));
            }
            return Main.OK;
        } finally {
            for (Agent ag : new Agent[] {a, b}) {
                if (ag != null) {
                    ag.close();
                }
            }
            DemoCommand.stopLeftovers(dir.resolve("cluster"));
            DemoCommand.deleteTree(dir);
        }
    }

    /**
     * The guest of {@code --tls-cost}: idle as S1 (1 MiB/s), but with 384 MiB of its 512 MiB written
     * (the stressor touches its region before it reports ready), so that each stream carries ~400
     * MiB and lasts seconds: S1's own ~95 MiB cross in a few hundred milliseconds, too short to time
     * on a busy host.
     */
    static final LinuxStressGuest TLS_COST_GUEST = new LinuxStressGuest(512, 384, 1);

    /** {@code --tls-cost}: that guest paused and sent once, over TLS and in plain TCP by turns, at full speed. */
    private int tlsCost(ClusterLayout layout, Map<String, AgentClient> agents, int reps) throws Exception {
        List<TlsCost.Run> runs = new ArrayList<>();
        for (int rep = 1; rep <= reps; rep++) {
            // alternate which goes first, so a drift of the host's speed does not favour one
            for (boolean tls : rep % 2 == 1 ? new boolean[] {false, true} : new boolean[] {true, false}) {
                int vmid = boot(layout, agents, TLS_COST_GUEST);
                agents.get("a").post("/api/v1/vms/" + vmid + "/pause", null);
                ObjectNode extra = VmCommand.JSON.createObjectNode().put("tls", tls);
                JsonNode done = migrate(agents.get("a"), vmid, "qemu-default", new ArrayList<>(), extra, null);
                stopWherever(agents, vmid);
                JsonNode r = done.path("result");
                if (!done.path("status").asText().equals("completed") || r.path("tls").asBoolean() != tls) {
                    throw new IllegalStateException("the " + (tls ? "TLS" : "plain") + " run failed: "
                            + r.path("error").asText(done.path("status").asText()));
                }
                TlsCost.Run run = new TlsCost.Run(rep, tls, r.path("transferred_bytes").asLong(),
                        r.path("qemu_total_ms").asLong());
                runs.add(run);
                say("S1 %s #%d: %s in %d ms = %.1f MiB/s", tls ? "TLS  " : "plain", rep, mib(run.bytes()), run.ms(),
                        run.mibPerS());
            }
        }
        TlsCost cost = new TlsCost(runs);
        return report("tls_cost", cost.json(), cost.markdown());
    }

    /** Prints a single measurement: {@code {key: json}} with --json, else its Markdown. */
    private int report(String key, ObjectNode measured, String markdown) throws java.io.IOException {
        if (json) {
            ObjectNode o = VmCommand.JSON.createObjectNode();
            o.set(key, measured);
            out.println(VmCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o));
        } else {
            out.println();
            out.println(markdown);
        }
        return Main.OK;
    }

    /** The RAM sizes of {@code --scale}. */
    static final List<Integer> SCALE_MIB = List.of(256, 1024, 4096);

    /** {@code --scale}: S2's guest at each size, migrated once with {@code policy}. */
    private int scale(ClusterLayout layout, Map<String, AgentClient> agents, String policy) throws Exception {
        Scenario s2 = SCENARIOS.get(1);
        List<ScaleCost.Run> runs = new ArrayList<>();
        for (int mib : SCALE_MIB) {
            int vmid = boot(layout, agents, new LinuxStressGuest(mib, s2.dirtyMiB(), s2.rateMiBps()));
            ScaleCost.resetHeapPeak();
            long t0 = System.nanoTime();
            JsonNode done = migrate(agents.get("a"), vmid, policy, new ArrayList<>(), null);
            long wall = (System.nanoTime() - t0) / 1_000_000;
            long heap = ScaleCost.peakHeapBytes();
            stopWherever(agents, vmid);
            JsonNode r = done.path("result");
            ScaleCost.Run run = new ScaleCost.Run(mib, done.path("status").asText(), wall, longOrNull(r, "qemu_total_ms"),
                    longOrNull(r, "transferred_bytes"), longOrNull(r, "passes"), longOrNull(r, "downtime_ms"), heap);
            runs.add(run);
            say("scale %d MiB: %s, QEMU %s ms, %s sent, %s passes, downtime %s ms, peak heap %s", mib, run.outcome(),
                    run.qemuMs(), mib(run.bytes()), run.passes(), run.downtimeMs(), mib(heap));
        }
        ScaleCost cost = new ScaleCost(policy, runs);
        return report("scale", cost.json(), cost.markdown());
    }

    /** {@code --libvirt}: per scenario, {@code reps} pairs of virsh and Ferry runs, which goes first in turns. */
    private int libvirt(ClusterLayout layout, Map<String, AgentClient> agents, List<Scenario> scenarios, int reps,
                        Path dir) throws Exception {
        List<String> cli = CliRelaunch.command();
        try (LibvirtPair pair = LibvirtPair.start(dir.resolve("libvirt"))) {
            String versions = pair.version() + "; ferry run as " + CliRelaunch.describe(cli);
            // the launcher writes its class archive on a build's first run: let that be done, as
            // it is after a user's first command, before the first measured one
            List<String> warmUp = new ArrayList<>(cli);
            warmUp.addAll(List.of("vm", "list"));
            TimedCommand.run(warmUp, Map.of("FERRY_CLUSTER", layout.dir().toString()), Duration.ofMinutes(1));
            List<LibvirtComparison.Run> runs = new ArrayList<>();
            for (Scenario sc : scenarios) {
                for (int rep = 1; rep <= reps; rep++) {
                    // a drift of the host's speed favours neither: each pair's first goes second next time
                    List<String> order = rep % 2 == 1 ? List.of(LibvirtComparison.VIRSH, LibvirtComparison.FERRY)
                            : List.of(LibvirtComparison.FERRY, LibvirtComparison.VIRSH);
                    for (String tool : order) {
                        LibvirtComparison.Run r = tool.equals(LibvirtComparison.VIRSH) ? virshRun(pair, sc, rep, dir)
                                : ferryCliRun(cli, layout, agents, sc, rep);
                        runs.add(r);
                        say("%s %-5s #%d: %s, wall %d ms%s, QEMU %s ms, downtime %s ms, guest pause %s ms, %s sent%s",
                                sc.name(), tool, rep, r.outcome(), r.wallMs(),
                                r.taskMs() == null ? "" : " (task " + r.taskMs() + " ms)", r.qemuMs(), r.downtimeMs(),
                                r.guestPauseMs() == null ? "<50" : r.guestPauseMs(), mib(r.bytes()),
                                r.note() == null ? "" : " (" + r.note() + ")");
                    }
                }
            }
            LibvirtComparison cmp = new LibvirtComparison(versions, runs);
            return report("libvirt", cmp.json(), cmp.markdown());
        }
    }

    /** Whether a scenario's guest dirties faster than the link: then both tools may switch to postcopy. */
    private static boolean postcopy(Scenario sc) {
        return sc.rateMiBps() > BANDWIDTH_MIB;
    }

    private LibvirtComparison.Run virshRun(LibvirtPair pair, Scenario sc, int rep, Path dir) throws Exception {
        int id = nextVmid++;
        VmDefinition.Boot boot = new LinuxStressGuest(MEMORY_MIB, sc.dirtyMiB(), sc.rateMiBps()).definition(id).boot();
        LibvirtGuest guest = new LibvirtGuest("bench-" + id, UUID.randomUUID(), MEMORY_MIB, boot.kernel(), boot.initrd(),
                boot.append());
        Path consoleA = dir.resolve(guest.name() + "-a.log");
        Path consoleB = dir.resolve(guest.name() + "-b.log");
        try {
            pair.boot(guest, consoleA);
            DemoCommand.awaitGuest(consoleA, true);
            LibvirtPair.Migration m = pair.migrate(guest, BANDWIDTH_MIB, postcopy(sc), consoleB, Duration.ofMinutes(5));
            boolean done = m.error() == null && m.job().completed();
            String note = m.error() != null ? m.error() : postcopy(sc) && m.job().postcopyRequests() != null
                    ? "postcopy" : null;
            return new LibvirtComparison.Run(sc.name(), LibvirtComparison.VIRSH, rep, done ? "completed" : "failed",
                    m.wallMs(), m.job().elapsedMs(), m.job().downtimeMs(), done ? guestPause(consoleB) : null,
                    m.job().processedBytes(), null, note);
        } finally {
            pair.remove(guest);
        }
    }

    private LibvirtComparison.Run ferryCliRun(List<String> cli, ClusterLayout layout, Map<String, AgentClient> agents,
                                              Scenario sc, int rep) throws Exception {
        int vmid = boot(layout, agents, sc);
        try {
            List<String> cmd = new ArrayList<>(cli);
            cmd.addAll(List.of("migrate", Integer.toString(vmid), "b", "--online", "--bwlimit",
                    Integer.toString(BANDWIDTH_MIB), "--no-tls", "--json"));
            if (postcopy(sc)) {
                cmd.add("--allow-postcopy");
            }
            TimedCommand.Result r = TimedCommand.run(cmd, Map.of("FERRY_CLUSTER", layout.dir().toString()),
                    Duration.ofMinutes(5));
            JsonNode j;
            try {
                j = VmCommand.JSON.readTree(r.out());
            } catch (java.io.IOException e) {
                j = null;
            }
            if (j == null || !j.isObject()) { // no JSON at all: the CLI failed before it could say
                j = VmCommand.JSON.createObjectNode();
            }
            String status = j.path("status").asText("failed");
            boolean done = status.equals("completed");
            String note = done ? (j.path("postcopy").asBoolean() ? "postcopy" : null)
                    : j.hasNonNull("error") ? j.path("error").asText() : "exit " + r.exit() + ": " + r.err().strip();
            Path serialB = layout.runRoot("b").resolve(Integer.toString(vmid)).resolve("serial.log");
            return new LibvirtComparison.Run(sc.name(), LibvirtComparison.FERRY, rep, done ? "completed" : status,
                    r.wallMs(), longOrNull(j, "qemu_total_ms"), longOrNull(j, "downtime_ms"),
                    done ? guestPause(serialB) : null, longOrNull(j, "transferred_bytes"), longOrNull(j, "duration_ms"),
                    note);
        } finally {
            stopWherever(agents, vmid);
        }
    }

    /** The floor: the guest paused, then sent once; what any policy's total is compared with. */
    private long floor(ClusterLayout layout, Map<String, AgentClient> agents, Scenario sc) throws Exception {
        int vmid = boot(layout, agents, sc);
        agents.get("a").post("/api/v1/vms/" + vmid + "/pause", null);
        JsonNode done = migrate(agents.get("a"), vmid, "qemu-default", new ArrayList<>(), null);
        JsonNode r = done.path("result");
        stopWherever(agents, vmid);
        if (!done.path("status").asText().equals("completed")) {
            throw new IllegalStateException("the floor migration of " + sc.name() + " failed: " + r.path("error").asText());
        }
        return r.path("qemu_total_ms").asLong(r.path("duration_ms").asLong());
    }

    /** What the setup says each policy is. */
    static String describe(String policy) {
        return switch (policy) {
            case "qemu-default" -> "qemu-default (QEMU's defaults, 300 ms: what virsh migrate --live does)";
            case "classic" -> "classic (Proxmox's: from 100 ms, doubled when stalled, xbzrle, auto-converge)";
            case "kubevirt" -> "kubevirt (an emulation of KubeVirt's default MigrationConfiguration: QEMU's 300 ms, no "
                    + "auto-converge, no postcopy, aborted after 150 s per GB of RAM or 150 s without progress)";
            case "ovirt" -> "ovirt (an emulation of oVirt's Minimal downtime policy: 100 ms, then 150/200/300/400/500 ms "
                    + "after more than 1/2/3/4/6 passes as VDSM sees them every 10 s, then abort; auto-converge)";
            default -> "budget (max-downtime " + BUDGET_MS + " ms, --allow-throttle --allow-postcopy)";
        };
    }

    private BenchRun run(ClusterLayout layout, Map<String, AgentClient> agents, Scenario sc, String policy, int rep,
                         long floor) throws Exception {
        int vmid = boot(layout, agents, sc);
        Path serialA = layout.runRoot("a").resolve(Integer.toString(vmid)).resolve("serial.log");
        Path serialB = layout.runRoot("b").resolve(Integer.toString(vmid)).resolve("serial.log");
        GuestClock before = GuestClock.watch(serialA, RATE_BEFORE_MS);
        long startMs = System.currentTimeMillis();
        List<BenchRun.Sample> samples = new ArrayList<>();
        JsonNode done = migrate(agents.get("a"), vmid, policy, samples, null);
        JsonNode r = done.path("result");
        String outcome = done.path("status").asText();
        long endMs = startMs + r.path("duration_ms").asLong();
        Long pause = null;
        if (outcome.equals("completed")) {
            pause = guestPause(serialB);
        }
        Path after = outcome.equals("completed") ? serialB : serialA;
        GuestWork work = before.workUntil(endMs, after, serialA, serialB, startMs);
        stopWherever(agents, vmid);
        long total = r.hasNonNull("qemu_total_ms") ? r.path("qemu_total_ms").asLong() : r.path("duration_ms").asLong();
        String note = r.hasNonNull("error") ? r.path("error").asText() : r.path("postcopy").asBoolean() ? "postcopy" : null;
        return new BenchRun(sc.name(), policy, rep, outcome.equals("problems") ? BenchRun.FAILED : outcome,
                longOrNull(r, "downtime_ms"), policy.equals("budget") ? BUDGET_MS : 300, total, pause,
                longOrNull(r, "transferred_bytes"), longOrNull(r, "passes"),
                r.hasNonNull("max_throttle_percent") ? r.path("max_throttle_percent").asInt() : null, floor, note, samples,
                prediction(r.path("prediction")), longOrNull(r, "overhead_ms"),
                work == null ? null : new BenchRun.Work(work.workRatio(), work.dirtyRatio()), texts(r.path("log")));
    }

    /** The planner's prediction in a result: whether it converges, and QEMU's total time it expected. */
    private static BenchRun.Prediction prediction(JsonNode p) {
        if (!p.hasNonNull("converges") || !p.hasNonNull("seconds")) {
            return null;
        }
        return new BenchRun.Prediction(p.path("converges").asBoolean(), Math.round(p.path("seconds").asDouble() * 1000));
    }

    /**
     * One S4 run: the guest writing to its local disk, migrated with its disk; its acknowledged writes
     * are counted from its console before the migration ({@link #DISK_RATE_BEFORE_MS}) and from the
     * start to the end of it.
     */
    private DiskBenchRun runDisk(ClusterLayout layout, Map<String, AgentClient> agents, String mode, int rep)
            throws Exception {
        int vmid = nextVmid++;
        String volume = "vm-" + vmid + "-disk-0.raw";
        new Volumes(QemuBinary.find().qemuImg()).create(layout.storages("a").get("local"), volume, "raw",
                (long) DISK_MIB << 20);
        VmDefinition vm = BlockWriter.withDisk(new LinuxStressGuest(MEMORY_MIB, DISK_DIRTY_MIB, DISK_DIRTY_RATE)
                .definition(vmid), new VmDefinition.Disk("local", volume, "raw", "virtio", "none", "native", null),
                DISK_WRITER_BLOCKS, DISK_WRITER_KIB);
        agents.get("a").post("/api/v1/vms", vm);
        agents.get("a").post("/api/v1/vms/" + vmid + "/start", null);
        Path serialA = layout.runRoot("a").resolve(Integer.toString(vmid)).resolve("serial.log");
        Path serialB = layout.runRoot("b").resolve(Integer.toString(vmid)).resolve("serial.log");
        DemoCommand.awaitGuest(serialA, true);
        DemoDisk.awaitFirstAck(serialA);
        Thread.sleep(1000); // past the writer's start, so "before" is its steady rate
        long t0 = System.nanoTime();
        long seq0 = BlockWriter.lastAck(DemoCommand.read(serialA));
        Thread.sleep(DISK_RATE_BEFORE_MS);
        long t1 = System.nanoTime();
        long seq1 = BlockWriter.lastAck(DemoCommand.read(serialA));
        ObjectNode extra = VmCommand.JSON.createObjectNode().put("with_local_disks", true).put("mirror_mode", mode);
        JsonNode done = migrate(agents.get("a"), vmid, "budget", new ArrayList<>(), extra);
        String outcome = done.path("status").asText();
        long[] ack2 = lastAckSeen(outcome.equals("completed") ? serialB : serialA);
        long seq2 = ack2[0];
        long t2 = ack2[1];
        stopWherever(agents, vmid);
        JsonNode r = done.path("result");
        JsonNode disk = r.path("disks").path(0);
        return new DiskBenchRun(mode, rep, outcome, disk.isMissingNode() ? null : disk.path("mode").asText(),
                r.path("duration_ms").asLong(), longOrNull(r, "downtime_ms"),
                disk.isMissingNode() ? null : disk.path("bytes").asLong(), longOrNull(r, "transferred_bytes"),
                rate(seq0, seq1, t0, t1), seq2 < 0 ? null : rate(seq1, seq2, t1, t2),
                r.hasNonNull("error") ? r.path("error").asText() : null);
    }

    /**
     * The writer's last acknowledged write on {@code serial} and when it was read: {sequence, nanoTime};
     * sequence -1 if none. The target's console starts empty and the guest prints its acks every
     * 100 ms, so right after the hand-over there may be none yet: it waits up to 2 s for the first.
     */
    private static long[] lastAckSeen(Path serial) throws InterruptedException {
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (true) {
            long seq = BlockWriter.lastAck(DemoCommand.read(serial));
            long now = System.nanoTime();
            if (seq >= 0 || now > deadline) {
                return new long[] {seq, now};
            }
            Thread.sleep(50);
        }
    }

    /** Acknowledged 4 KiB writes per second between two (sequence, time) observations. */
    private static double rate(long seqFrom, long seqTo, long nanosFrom, long nanosTo) {
        return (seqTo - seqFrom) * (double) BlockWriter.BLOCK / ((nanosTo - nanosFrom) / 1e9);
    }

    private int boot(ClusterLayout layout, Map<String, AgentClient> agents, Scenario sc) throws Exception {
        return boot(layout, agents, new LinuxStressGuest(MEMORY_MIB, sc.dirtyMiB(), sc.rateMiBps()));
    }

    private int boot(ClusterLayout layout, Map<String, AgentClient> agents, LinuxStressGuest guest) throws Exception {
        int vmid = nextVmid++;
        VmDefinition vm = guest.definition(vmid);
        agents.get("a").post("/api/v1/vms", vm);
        agents.get("a").post("/api/v1/vms/" + vmid + "/start", null);
        DemoCommand.awaitGuest(layout.runRoot("a").resolve(Integer.toString(vmid)).resolve("serial.log"), true);
        return vmid;
    }

    /** Runs one migration to its end, sampling the remaining bytes about every 250 ms. */
    private static JsonNode migrate(AgentClient source, int vmid, String policy, List<BenchRun.Sample> samples,
                                    ObjectNode extra) throws InterruptedException {
        return migrate(source, vmid, policy, samples, extra, BANDWIDTH_MIB);
    }

    /** @param bwlimitMiB null: no limit but Ferry's default (the stream as fast as the host sends it) */
    private static JsonNode migrate(AgentClient source, int vmid, String policy, List<BenchRun.Sample> samples,
                                    ObjectNode extra, Integer bwlimitMiB) throws InterruptedException {
        ObjectNode req = VmCommand.JSON.createObjectNode().put("vmid", vmid).put("target", "b").put("online", true)
                .put("policy", policy);
        if (bwlimitMiB != null) {
            req.put("bwlimit", bwlimitMiB);
        }
        if (policy.equals("budget")) {
            // postcopy is refused with local disks: their mirrors would still run while the target runs the guest
            req.put("downtime", BUDGET_MS).put("allow_throttle", true).put("allow_postcopy", extra == null);
        }
        if (extra != null) {
            req.setAll(extra);
        }
        String id = source.migrate(req).path("id").asText();
        long lastAt = -1;
        while (true) {
            JsonNode t = source.get("/api/v1/tasks/" + id);
            JsonNode p = t.path("progress");
            if (p.has("elapsed_ms") && p.path("elapsed_ms").asLong() != lastAt) {
                lastAt = p.path("elapsed_ms").asLong();
                samples.add(new BenchRun.Sample(lastAt, p.path("remaining").asLong()));
            }
            if (!t.path("status").asText().equals("running")) {
                return t;
            }
            Thread.sleep(250);
        }
    }

    /** The longest pause the guest's own clock saw on the target; null when none passed its 50 ms threshold. */
    private static Long guestPause(Path serialB) throws InterruptedException {
        // the stressor reports a pause with its next tick: give it a moment on the target
        long deadline = System.nanoTime() + 5_000_000_000L;
        List<LinuxStressGuest.Tick> ticks = List.of();
        while (System.nanoTime() < deadline && ticks.size() < 3) {
            ticks = LinuxStressGuest.ticks(DemoCommand.read(serialB));
            Thread.sleep(200);
        }
        return LinuxStressGuest.gaps(DemoCommand.read(serialB)).stream()
                .filter(g -> g.kind() == LinuxStressGuest.Gap.Kind.PAUSE).map(LinuxStressGuest.Gap::ms)
                .max(Long::compare).orElse(null);
    }

    private static void stopWherever(Map<String, AgentClient> agents, int vmid) {
        for (AgentClient c : agents.values()) {
            try {
                c.post("/api/v1/vms/" + vmid + "/stop", null);
            } catch (RuntimeException notThere) {
                // owned by the other node, or already stopped
            }
        }
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static Long longOrNull(JsonNode r, String field) {
        return r.hasNonNull(field) ? r.path(field).asLong() : null;
    }

    private static String mib(long bytes) {
        return mib(Long.valueOf(bytes));
    }

    private static String mib(Long bytes) {
        return bytes == null ? "?" : String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
    }

    private void say(String format, Object... args) {
        if (!json) {
            out.println("bench: " + String.format(Locale.ROOT, format, args));
            out.flush();
        }
    }
}
