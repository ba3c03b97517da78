package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.qapi.QapiJson;
import ferry.testkit.Bootblock;
import ferry.testkit.BootblockGuest;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine;

/** Runs the ferry CLI in this process with its output captured. */
final class FerryCli {
    private FerryCli() {}

    record Run(int code, String out, String err) {
        JsonNode json() {
            try {
                return QapiJson.mapper().readTree(out);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + out + "\nstderr: " + err, e);
            }
        }

        /** One line of output (e.g. a progress line on stderr) as JSON. */
        JsonNode json(String line) {
            try {
                return QapiJson.mapper().readTree(line);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + line, e);
            }
        }

        /** Both streams, for assertion messages. */
        String both() {
            return "exit " + code + "\n--- out:\n" + out + "\n--- err:\n" + err;
        }
    }

    static Run ferry(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** Runs a command against the cluster in {@code dir}. */
    static Run ferry(Path dir, String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--cluster";
        all[args.length + 1] = dir.toString();
        return ferry(all);
    }

    /** A loopback port p with p+1 free too (a two-node cluster takes consecutive ports). */
    static int twoFreePorts() throws IOException {
        return freePorts(2);
    }

    /** A loopback port p with the {@code n - 1} ports after it free too (a cluster's nodes take consecutive ports). */
    static int freePorts(int n) throws IOException {
        for (int i = 0; i < 50; i++) {
            int p;
            try (ServerSocket s1 = new ServerSocket(0)) {
                p = s1.getLocalPort();
            }
            if (p + n - 1 > 65535) {
                continue;
            }
            if (allFree(p, n)) {
                return p;
            }
        }
        throw new IOException("no " + n + " consecutive free ports");
    }

    private static boolean allFree(int from, int n) {
        List<ServerSocket> held = new java.util.ArrayList<>();
        try {
            for (int q = from; q < from + n; q++) {
                held.add(new ServerSocket(q));
            }
            return true;
        } catch (IOException busy) {
            return false;
        } finally {
            for (ServerSocket s : held) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing a probe socket
                }
            }
        }
    }

    /**
     * A bootblock VM (128 MiB, dirtying {@code regionMiB} at the pace {@code delay}) on the shared
     * storage of the cluster in {@code dir}; returns its definition file, written to {@code defs}.
     */
    static Path bootblockVm(Path dir, Path defs, int vmid, long regionMiB, int delay) throws IOException {
        String volume = "vm-" + vmid + "-disk-0.raw";
        Path shared = dir.resolve("storage").resolve("shared");
        Files.createDirectories(shared);
        Files.copy(Bootblock.image(BootblockGuest.cacheDir(), Bootblock.REGION_START + (regionMiB << 20), delay),
                shared.resolve(volume));
        Path def = defs.resolve("vm-" + vmid + ".json");
        Files.writeString(def, "{\"vmid\":" + vmid + ",\"name\":\"bb\",\"memory\":128,\"disks\":[{\"storage\":\"shared\","
                + "\"volume\":\"" + volume + "\",\"format\":\"raw\",\"bus\":\"ide\"}]}");
        return def;
    }

    /** QEMU processes whose command line mentions {@code path}. */
    static List<ProcessHandle> qemusUnder(Path path) {
        String p = path.toString();
        return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive).filter(h -> {
            String cmd = h.info().commandLine().orElse("");
            return cmd.contains("qemu-system") && cmd.contains(p);
        }).toList();
    }

    /**
     * Stops the VMs {@code vmids} on every node of {@code nodes} (agents closed first: they hold
     * each VM's only QMP connection) and checks that no QEMU of the cluster in {@code dir} is left.
     */
    static void stopQemus(ferry.agent.ClusterLayout layout, Path dir, List<String> nodes, List<Integer> vmids)
            throws InterruptedException {
        ferry.node.QemuBinary qemu = ferry.node.QemuBinary.find();
        for (String node : nodes) {
            ferry.node.LocalNode n = new ferry.node.LocalNode(node, qemu, layout.storages(node), layout.runRoot(node));
            for (int vmid : vmids) {
                try {
                    n.stop(vmid, java.time.Duration.ofSeconds(5));
                } catch (RuntimeException ignored) {
                    // reported below if it is still running
                }
            }
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!qemusUnder(dir).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        org.assertj.core.api.Assertions.assertThat(qemusUnder(dir)).as("QEMUs left running").isEmpty();
    }
}
