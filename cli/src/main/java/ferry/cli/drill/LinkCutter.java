package ferry.cli.drill;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Cuts the migration link for real: {@code ss -K} destroys the TCP connections of the target
 * QEMU (both ends get an error, as when a cable is pulled), again and again for the length of the
 * outage, so reconnections fail too. Needs root (CAP_NET_ADMIN) and a kernel with sock_diag
 * destroy; the agents and their QMP sockets are untouched.
 */
final class LinkCutter {
    private LinkCutter() {}

    /** Why a cut cannot be made here; null when it can. */
    static String unavailable() {
        try {
            Process p = new ProcessBuilder("ss", "-V").redirectErrorStream(true).start();
            if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return "'ss' (iproute2) does not run";
            }
        } catch (IOException | InterruptedException e) {
            return "'ss' (iproute2) is not installed";
        }
        return "root".equals(System.getProperty("user.name")) ? null : "cutting a TCP connection with ss -K needs root";
    }

    /** Keeps cutting every TCP connection of process {@code pid} for {@code outage}; returns how many were cut. */
    static int cut(long pid, Duration outage) throws IOException, InterruptedException {
        long end = System.nanoTime() + outage.toNanos();
        Set<Integer> ports = new LinkedHashSet<>();
        do {
            for (int port : localPorts(pid)) {
                ports.add(port);
                run("ss", "-K", "-tn", "state", "established", "( sport = :" + port + " or dport = :" + port + " )");
            }
            Thread.sleep(100);
        } while (System.nanoTime() < end);
        return ports.size();
    }

    /** Local ports of the established TCP connections of {@code pid}. */
    private static List<Integer> localPorts(long pid) throws IOException, InterruptedException {
        List<Integer> out = new ArrayList<>();
        for (String line : run("ss", "-tnpH", "state", "established").lines().toList()) {
            if (!line.contains("pid=" + pid + ",")) {
                continue;
            }
            String[] f = line.trim().split("\\s+");
            String local = f[2];
            out.add(Integer.parseInt(local.substring(local.lastIndexOf(':') + 1)));
        }
        return out;
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(10, TimeUnit.SECONDS);
        return out;
    }
}
