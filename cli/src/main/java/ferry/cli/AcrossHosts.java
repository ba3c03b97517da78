package ferry.cli;

import ferry.testkit.netns.BitRate;
import ferry.testkit.netns.HostNetwork;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The outer half of {@code ferry demo --hosts} and {@code ferry drill --hosts}: builds hosts a,
 * b and ctl as network namespaces, shapes the links of a and b, then runs the command itself
 * inside ctl (the root namespace cannot reach the hosts) as a child {@code ferry COMMAND
 * --in-network PREFIX --work-dir DIR}, relays its output, and tears everything down, on Ctrl-C too.
 */
final class AcrossHosts {
    /** Every agent listens on this port of its own host's address (each host has its own ports). */
    static final int AGENT_PORT = 8640;
    /** The child demo and the agents do little computing: a small, quickly started JVM each. */
    static final List<String> LEAN_JVM = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx192m");

    private AcrossHosts() {}

    /**
     * Runs {@code ferry COMMAND} across hosts; {@code args} are the child's options besides
     * {@code --in-network} and {@code --work-dir}. Returns the child's exit code.
     */
    static int run(String command, long rateBitsPerS, List<String> args, boolean json, PrintWriter out, PrintWriter err)
            throws IOException, InterruptedException {
        return run(command, rateBitsPerS, args, json, false, out, err);
    }

    /** The same; {@code keep}: leave the child's folder (logs, journals) when done, and say where. */
    static int run(String command, long rateBitsPerS, List<String> args, boolean json, boolean keep, PrintWriter out,
                   PrintWriter err) throws IOException, InterruptedException {
        // the child's folder is made here, so that it goes away even when the child is killed
        Path dir = Files.createTempDirectory("ferry-" + command);
        HostNetwork net;
        try {
            net = HostNetwork.create(DemoNodes.NAMES);
        } catch (RuntimeException e) {
            DemoCommand.deleteTree(dir);
            throw e;
        }
        Thread teardown = new Thread(() -> {
            try {
                net.close();
            } finally {
                if (!keep) {
                    DemoCommand.deleteTree(dir);
                }
            }
        }, command + "-hosts-teardown");
        Runtime.getRuntime().addShutdownHook(teardown);
        try {
            for (String n : DemoNodes.NAMES) {
                net.shapeRate(n, rateBitsPerS);
            }
            if (!json) {
                String netem = net.netemUnavailableReason();
                (command.equals("drill") ? err : out).println(command + ": hosts: network namespaces " + String.join(", ", net.hosts().stream()
                        .map(h -> net.namespace(h) + " (" + net.address(h) + ")").toList()) + " on one bridge; the links"
                        + " of a and b shaped to " + BitRate.format(rateBitsPerS) + " each way"
                        + (netem == null ? "" : "; no delay or loss: " + netem));
                out.flush();
                err.flush();
            }
            List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java")));
            cmd.addAll(LEAN_JVM);
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), command,
                    "--in-network", net.prefix(), "--work-dir", dir.toString()));
            cmd.addAll(args);
            Process child = new ProcessBuilder(net.command(HostNetwork.CTL, cmd))
                    .redirectInput(ProcessBuilder.Redirect.INHERIT).start();
            Thread outRelay = relay(child.getInputStream(), out);
            Thread errRelay = relay(child.getErrorStream(), err);
            int code = child.waitFor();
            outRelay.join();
            errRelay.join();
            return code;
        } finally {
            teardown.run();
            try {
                Runtime.getRuntime().removeShutdownHook(teardown);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it found the network closed
            }
        }
    }

    /** Copies the child's lines as they come (the demo's progress shows live). */
    private static Thread relay(InputStream from, PrintWriter to) {
        return Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(from, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    to.println(line);
                    to.flush();
                }
            } catch (IOException ended) {
                // the child is gone; its exit code tells
            }
        });
    }
}
