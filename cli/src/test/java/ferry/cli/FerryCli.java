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
        for (int i = 0; i < 50; i++) {
            try (ServerSocket s1 = new ServerSocket(0)) {
                int p = s1.getLocalPort();
                if (p >= 65535) {
                    continue;
                }
                try (ServerSocket s2 = new ServerSocket(p + 1)) {
                    return p;
                } catch (IOException busy) {
                    // try another
                }
            }
        }
        throw new IOException("no two consecutive free ports");
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
}
