package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.AgentClient;
import ferry.agent.ClusterLayout;
import ferry.node.VmDefinition;
import ferry.testkit.BlockWriter;
import ferry.testkit.Bootblock;
import ferry.testkit.BootblockGuest;
import ferry.testkit.LinuxStressGuest;
import ferry.testkit.netns.BitRate;
import ferry.testkit.netns.HostNetwork;
import ferry.testkit.netns.LinkCounters;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry demo}: a throwaway two-node cluster in a temporary folder, a guest that dirties
 * memory and writes to its local disk booted on node a and live-migrated to node b with that disk,
 * its memory and disk integrity checked, all torn down.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Shows a live migration end to end on this host: creates a throwaway 2-node cluster in a "
                + "temporary folder with agents on loopback, boots the linux-stress guest (the bootblock guest if "
                + "the kernel package is missing) on node a, migrates it live to node b while it dirties memory "
                + "and writes to a local disk (mirrored over NBD; the bootblock guest has none), checks that the "
                + "guest went on where it was and that node b's copy of the disk holds every write, prints the "
                + "task log and a summary, and removes everything. Takes under a minute here.",
                "With --hosts (root only) each node runs in its own network namespace over a shaped link."})
final class DemoCommand implements Callable<Integer> {
    private static final int VMID = 100;
    /** The linux-stress guest's dirty rate on loopback; on a shaped link a third of the link at most, so it converges. */
    private static final int DIRTY_MIB_PER_S = 40;
    private static final String NOT_CHECKED = "not checked: the migration did not complete";

    @Option(names = "--json", description = "Print one JSON object: the migrate summary plus 'integrity' (and each disk's).")
    boolean json;

    @Option(names = "--guest", description = "linux-stress or bootblock (default: linux-stress when available).")
    String guest;

    @Option(names = "--hosts", description = {"Run each node on its own host: network namespaces a and b (agent and QEMUs inside) and ctl "
                + "(this demo's client) on one bridge, the links of a and b shaped to --link-rate, so the "
                + "migration stream crosses a real, rate-limited link. Needs root; delay and loss are not shaped."})
    boolean hosts;

    @Option(names = "--link-rate", defaultValue = "200mbit", paramLabel = "RATE",
            description = "With --hosts: the rate of each host's link, both ways, e.g. 200mbit, 1gbit (default: ${DEFAULT-VALUE}).")
    String linkRate;

    /** Set by the outer {@code demo --hosts} for its child inside ctl: the network exists, with this prefix. */
    @Option(names = "--in-network", hidden = true, paramLabel = "PREFIX")
    String inNetwork;

    /** Set by the outer {@code demo --hosts}: the (empty) folder to use, which the outer removes whatever happens. */
    @Option(names = "--source-qemu", paramLabel = "VERSION",
            description = {"Run node a (the source) on another QEMU than the installed one: '7.2' is Debian bookworm's, "
                    + "unpacked from its packages (downloaded through apt into a cache on first use, never installed); "
                    + "node b keeps the installed QEMU 10. The JSON then says source_qemu and target_qemu."})
    String sourceQemu;

    @Option(names = "--work-dir", hidden = true, paramLabel = "DIR")
    Path demoDir;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        boolean linux = guest == null ? LinuxStressGuest.available() : guest.equals("linux-stress");
        if (guest != null && !List.of("linux-stress", "bootblock").contains(guest)) {
            throw new UsageError("--guest must be linux-stress or bootblock, got '" + guest + "'");
        }
        if (linux && !LinuxStressGuest.available()) {
            throw new UsageError("the linux-stress guest is unavailable: " + LinuxStressGuest.unavailableReason());
        }
        ferry.cluster.NodeQemu sourceInstall = sourceInstallation();
        long rate = BitRate.parse(linkRate);
        if (hosts && inNetwork == null) {
            String reason = HostNetwork.unavailableReason();
            if (reason != null) {
                throw new UsageError("--hosts runs each node in its own network namespace, which this machine cannot do: "
                        + reason + "; run the demo without --hosts, or as root");
            }
            return AcrossHosts.run("demo", rate, childArgs(), json, out, spec.commandLine().getErr());
        }
        HostNetwork net = inNetwork == null ? null : HostNetwork.attach(inNetwork, DemoNodes.NAMES);
        int dirtyRate = net == null ? DIRTY_MIB_PER_S : (int) Math.max(1, Math.min(DIRTY_MIB_PER_S, rate / 8 / 3 / 1048576));
        Path dir = demoDir != null ? demoDir : Files.createTempDirectory("ferry-demo");
        DemoNodes nodes = null;
        try {
            nodes = net == null ? DemoNodes.loopback(dir.resolve("cluster"), sourceInstall)
                    : DemoNodes.onHosts(dir.resolve("cluster"), net, sourceInstall);
            say(out, "cluster: 2 nodes (a, b) in " + dir + ", " + nodes.where());
            ClusterLayout layout = nodes.layout();
            AgentClient agentA = AgentProcess.client(layout, "a");
            DemoDisk disk = linux ? DemoDisk.create(layout, VMID) : null;
            VmDefinition vm = linux ? disk.attachTo(new LinuxStressGuest(256, 128, dirtyRate).definition(VMID))
                    : bootblock(layout);
            say(out, "guest: " + (linux ? "linux-stress (Debian cloud kernel + our stressor, 128 MiB dirtied at "
                    + dirtyRate + " MiB/s; " + DemoDisk.describe() + ")"
                    : "bootblock (dirties 32 MiB page by page" + (guest == null ? "; linux-stress unavailable: "
                    + LinuxStressGuest.unavailableReason() : "") + ")"));
            agentA.post("/api/v1/vms", vm);
            agentA.post("/api/v1/vms/" + VMID + "/start", null);
            Path serialA = layout.runRoot("a").resolve(Integer.toString(VMID)).resolve("serial.log");
            Path serialB = layout.runRoot("b").resolve(Integer.toString(VMID)).resolve("serial.log");
            awaitGuest(serialA, linux);
            if (linux) {
                DemoDisk.awaitFirstAck(serialA);
            }
            say(out, "VM " + VMID + " runs on node a; migrating it live to node b" + (linux ? " with its local disk" : ""));

            LinkCounters before = net == null ? null : net.bytes("a");
            JsonNode task = agentA.migrate(VmCommand.JSON.createObjectNode().put("vmid", VMID).put("target", "b")
                    .put("online", true).put("with_local_disks", linux));
            JsonNode done = new TaskFollower(agentA, "a", task.path("id").asText(), out,
                    !json && System.console() != null, json).follow();
            LinkCounters sent = net == null ? null : net.bytes("a").since(before);
            ObjectNode summary = TaskFollower.summary(done);
            boolean completed = done.path("status").asText().equals("completed");
            Integrity integrity = completed ? (linux ? checkLinux(serialA, serialB) : checkBootblock(serialB))
                    : new Integrity(NOT_CHECKED, null);
            // after the memory check: the disk oracle stops the guest
            DemoDisk.Verdict diskVerdict = disk == null ? null : completed ? disk.checkOn("b",
                    AgentProcess.client(layout, "b"), layout, BlockWriter.lastAck(read(serialA)))
                    : new DemoDisk.Verdict(NOT_CHECKED, -1, -1);
            if (diskVerdict != null) {
                summary.withArray("disks").forEach(d -> ((ObjectNode) d).put("integrity", diskVerdict.integrity())
                        .put("last_acknowledged_write", diskVerdict.lastAck()).put("newest_write_on_disk", diskVerdict.newest()));
            }
            summary.put("integrity", integrity.verdict());
            summary.put("source_qemu", agentA.get("/api/v1/node").path("qemu").asText());
            summary.put("target_qemu", AgentProcess.client(layout, "b").get("/api/v1/node").path("qemu").asText());
            summary.put("guest", linux ? "linux-stress" : "bootblock");
            summary.put("hosts", net == null ? "loopback" : "netns");
            summary.put("store", nodes.store());
            summary.put("store_tls", nodes.layout().storeAddress().isTls());
            if (net != null) {
                summary.set("link", link(net, rate, sent, summary));
            }
            if (integrity.pauseMs() != null) {
                summary.put("guest_pause_ms", integrity.pauseMs());
            }
            if (json) {
                out.println(VmCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(summary));
            } else {
                out.printf("%nsummary: %s in %d ms, QEMU downtime %s ms, %s sent%s; integrity: %s%n",
                        summary.path("status").asText(), summary.path("duration_ms").asLong(),
                        summary.path("downtime_ms").asText("?"), mib(summary.path("transferred_bytes").asLong()),
                        !linux ? "" : integrity.pauseMs() == null ? ", pause seen by the guest under 50 ms (its threshold)"
                                : ", pause seen by the guest " + integrity.pauseMs() + " ms",
                        integrity.verdict());
                out.println(summary.path("tls").asBoolean()
                        ? "streams: TLS (QEMU's own, with the cluster's node certificates; node b admitted only node a)"
                        : "streams: plain TCP (see the task log's warning)");
                summary.path("disks").forEach(d -> out.printf(java.util.Locale.ROOT,
                        "disk %s: %s mirrored in %.1f s (%s); disk integrity: %s (last write acknowledged to the guest %d,"
                                + " newest on node b's copy %d)%n", d.path("name").asText(), mib(d.path("bytes").asLong()),
                        d.path("seconds").asDouble(), d.path("mode").asText(), d.path("integrity").asText(),
                        d.path("last_acknowledged_write").asLong(), d.path("newest_write_on_disk").asLong()));
                if (net != null) {
                    JsonNode l = summary.path("link");
                    out.printf("link: shaped to %s; host a's eth0 sent %s during the migration, QEMU's stream %s at %s%n",
                            BitRate.format(rate), mib(l.path("source_tx_bytes").asLong()),
                            mib(l.path("stream_bytes").asLong()), BitRate.format(l.path("stream_throughput_bits_per_s").asLong()));
                }
            }
            int code = TaskFollower.exitCode(done);
            boolean intact = integrity.verdict().equals("ok") && (diskVerdict == null || diskVerdict.ok());
            return code == Main.OK && !intact ? Main.FAILED : code;
        } finally {
            if (nodes != null) {
                nodes.close();
            }
            stopLeftovers(dir.resolve("cluster"));
            deleteTree(dir);
            say(out, "removed " + dir);
        }
    }

    /** The outer demo's options for its child inside ctl (the child learns the network from --in-network). */
    /** Node a's own QEMU for --source-qemu; null without it. Unpacked here, before any node starts. */
    private ferry.cluster.NodeQemu sourceInstallation() {
        if (sourceQemu == null || sourceQemu.equals("installed")) {
            return null;
        }
        if (!sourceQemu.equals("7.2")) {
            throw new UsageError("--source-qemu takes 7.2 (Debian bookworm's QEMU) or installed, got '" + sourceQemu + "'");
        }
        try {
            return ferry.agent.NodeQemus.config(ferry.testkit.Qemu72.provide());
        } catch (ferry.node.NodeException e) {
            throw new UsageError("--source-qemu 7.2: " + e.getMessage());
        }
    }

    private List<String> childArgs() {
        List<String> args = new ArrayList<>(List.of("--link-rate", linkRate));
        if (json) {
            args.add("--json");
        }
        if (guest != null) {
            args.addAll(List.of("--guest", guest));
        }
        if (sourceQemu != null) {
            args.addAll(List.of("--source-qemu", sourceQemu));
        }
        return args;
    }

    /**
     * Shows that the stream crossed the shaped link: host a's eth0 sent at least QEMU's bytes
     * while the stream went no faster than the link's rate.
     */
    private static ObjectNode link(HostNetwork net, long rate, LinkCounters sent, ObjectNode summary) {
        long stream = summary.path("transferred_bytes").asLong();
        long qemuMs = summary.path("qemu_total_ms").asLong();
        ObjectNode l = VmCommand.JSON.createObjectNode();
        l.put("rate_bits_per_s", rate);
        l.put("source_namespace", net.namespace("a"));
        l.put("target_namespace", net.namespace("b"));
        l.put("source_tx_bytes", sent.txBytes());
        l.put("stream_bytes", stream);
        l.put("stream_ms", qemuMs);
        l.put("stream_throughput_bits_per_s", qemuMs > 0 ? stream * 8 * 1000 / qemuMs : 0);
        return l;
    }

    private void say(PrintWriter out, String line) {
        if (!json) {
            out.println("demo: " + line);
            out.flush();
        }
    }

    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    private static VmDefinition bootblock(ClusterLayout layout) throws IOException {
        BootblockGuest g = new BootblockGuest(128, Bootblock.REGION_START + (32L << 20), 20_000);
        Path shared = layout.storages("a").get("shared").path();
        Files.copy(Bootblock.image(BootblockGuest.cacheDir(), g.regionEnd(), g.delay()), shared.resolve("vm-100-disk-0.raw"));
        return new VmDefinition(VMID, "bootblock", g.memoryMiB(), 1, null, null, null,
                List.of(new VmDefinition.Disk("shared", "vm-100-disk-0.raw", "raw", "ide")), VmDefinition.Accel.TCG, null);
    }

    static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p, StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            return "";
        }
    }

    static void awaitGuest(Path serial, boolean linux) throws InterruptedException {
        long deadline = System.nanoTime() + 90_000_000_000L;
        while (System.nanoTime() < deadline) {
            String s = read(serial);
            if (linux ? s.contains(LinuxStressGuest.READY) && !LinuxStressGuest.ticks(s).isEmpty()
                    : s.indexOf(Bootblock.PASS_MARKER) >= 0) {
                return;
            }
            if (linux && s.contains(LinuxStressGuest.ERROR)) {
                throw new IllegalStateException("the guest failed: " + s.substring(s.indexOf(LinuxStressGuest.ERROR)));
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the guest did not come up within 90 s; its console: " + serial);
    }

    private record Integrity(String verdict, Long pauseMs) {}

    /** The stressor's tick counter must go on from where it was on a, and the pause must show on b. */
    private static Integrity checkLinux(Path serialA, Path serialB) throws InterruptedException {
        List<LinuxStressGuest.Tick> before = LinuxStressGuest.ticks(read(serialA));
        long deadline = System.nanoTime() + 10_000_000_000L;
        List<LinuxStressGuest.Tick> after = List.of();
        List<LinuxStressGuest.Gap> gaps = List.of();
        while (System.nanoTime() < deadline) {
            after = LinuxStressGuest.ticks(read(serialB));
            gaps = LinuxStressGuest.gaps(read(serialB));
            if (after.size() >= 5 && !gaps.isEmpty()) {
                break;
            }
            Thread.sleep(200);
        }
        if (before.isEmpty() || after.size() < 2) {
            return new Integrity("no ticks from the guest on node b", null);
        }
        long last = before.get(before.size() - 1).seq();
        long first = after.get(0).seq();
        for (int i = 1; i < after.size(); i++) {
            if (after.get(i).seq() != after.get(i - 1).seq() + 1) {
                return new Integrity("the guest's tick counter jumped on node b", null);
            }
        }
        if (first <= last - 2 || first > last + 50) {
            return new Integrity("the guest's counter did not go on: last on a " + last + ", first on b " + first, null);
        }
        Long pause = gaps.stream().filter(g -> g.kind() == LinuxStressGuest.Gap.Kind.PAUSE).map(LinuxStressGuest.Gap::ms)
                .findFirst().orElse(null);
        return new Integrity("ok", pause);
    }

    /** The migrated bootblock prints no boot marker on b, only further passes. */
    private static Integrity checkBootblock(Path serialB) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            String s = read(serialB);
            if (s.indexOf(Bootblock.BOOT_MARKER) >= 0) {
                return new Integrity("the guest rebooted on node b", null);
            }
            if (s.indexOf(Bootblock.PASS_MARKER) >= 0) {
                return new Integrity("ok", null);
            }
            Thread.sleep(100);
        }
        return new Integrity("the guest made no pass on node b", null);
    }

    static void stopLeftovers(Path cluster) {
        try (var pids = Files.find(cluster.resolve("run"), 3, (p, attr) -> p.getFileName().toString().equals("qemu.pid"))) {
            pids.forEach(p -> {
                try {
                    ProcessHandle.of(Long.parseLong(Files.readString(p).strip())).ifPresent(ProcessHandle::destroyForcibly);
                } catch (IOException | NumberFormatException ignored) {
                    // already gone
                }
            });
        } catch (IOException ignored) {
            // nothing ran
        }
    }

    static void deleteTree(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp folder left behind is harmless
        }
    }
}
