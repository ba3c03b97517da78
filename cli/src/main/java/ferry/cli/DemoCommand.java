package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.Agent;
import ferry.agent.AgentClient;
import ferry.agent.ClusterLayout;
import ferry.cluster.ClusterStore;
import ferry.node.VmDefinition;
import ferry.testkit.Bootblock;
import ferry.testkit.BootblockGuest;
import ferry.testkit.LinuxStressGuest;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry demo}: a throwaway two-node cluster in a temporary folder, a guest that dirties
 * memory booted on node a and live-migrated to node b, its integrity checked, all torn down.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Shows a live migration end to end on this host: creates a throwaway 2-node cluster in a",
                "temporary folder with agents on loopback, boots the linux-stress guest (the bootblock guest if",
                "the kernel package is missing) on node a, migrates it live to node b while it dirties memory,",
                "checks that the guest went on where it was, prints the task log and a summary, and removes",
                "everything. Takes under a minute here."})
final class DemoCommand implements Callable<Integer> {
    private static final int VMID = 100;

    @Option(names = "--json", description = "Print one JSON object: the migrate summary plus 'integrity'.")
    boolean json;

    @Option(names = "--guest", description = "linux-stress or bootblock (default: linux-stress when available).")
    String guest;

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
        Path dir = Files.createTempDirectory("ferry-demo");
        Agent a = null;
        Agent b = null;
        try {
            say(out, "cluster: 2 nodes (a, b) in " + dir + ", agents on loopback");
            ClusterLayout layout = ClusterLayout.createOnFreePorts(dir.resolve("cluster"), "demo", List.of("a", "b"));
            a = Agent.start(layout.dir(), "a");
            b = Agent.start(layout.dir(), "b");
            String token;
            String addrA;
            try (ClusterStore s = layout.open()) {
                token = s.config().token();
                addrA = s.config().node("a").orElseThrow().agentAddress();
            }
            AgentClient agentA = new AgentClient(addrA, token);
            VmDefinition vm = linux ? new LinuxStressGuest(256, 128, 40).definition(VMID) : bootblock(layout);
            say(out, "guest: " + (linux ? "linux-stress (Debian cloud kernel + our stressor, 128 MiB dirtied at 40 MiB/s)"
                    : "bootblock (dirties 32 MiB page by page" + (guest == null ? "; linux-stress unavailable: "
                    + LinuxStressGuest.unavailableReason() : "") + ")"));
            agentA.post("/api/v1/vms", vm);
            agentA.post("/api/v1/vms/" + VMID + "/start", null);
            Path serialA = layout.runRoot("a").resolve(Integer.toString(VMID)).resolve("serial.log");
            Path serialB = layout.runRoot("b").resolve(Integer.toString(VMID)).resolve("serial.log");
            awaitGuest(serialA, linux);
            say(out, "VM " + VMID + " runs on node a; migrating it live to node b");

            JsonNode task = agentA.migrate(VmCommand.JSON.createObjectNode().put("vmid", VMID).put("target", "b")
                    .put("online", true));
            JsonNode done = new TaskFollower(agentA, "a", task.path("id").asText(), out,
                    !json && System.console() != null, json).follow();
            ObjectNode summary = TaskFollower.summary(done);
            Integrity integrity = done.path("status").asText().equals("completed")
                    ? (linux ? checkLinux(serialA, serialB) : checkBootblock(serialB))
                    : new Integrity("not checked: the migration did not complete", null);
            summary.put("integrity", integrity.verdict());
            summary.put("guest", linux ? "linux-stress" : "bootblock");
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
            }
            int code = TaskFollower.exitCode(done);
            return code == Main.OK && !integrity.verdict().equals("ok") ? Main.FAILED : code;
        } finally {
            for (Agent ag : new Agent[] {a, b}) {
                if (ag != null) {
                    ag.close();
                }
            }
            stopLeftovers(dir.resolve("cluster"));
            deleteTree(dir);
            say(out, "removed " + dir);
        }
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
