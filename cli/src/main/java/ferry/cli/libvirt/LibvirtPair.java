package ferry.cli.libvirt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Two libvirt daemons on this host, nodes {@code a} and {@code b}, so that {@code virsh migrate}
 * can be measured beside Ferry on the same machine. libvirt keeps its state in fixed places
 * (/etc/libvirt, /run/libvirt, /var/lib/libvirt, ...), so each daemon runs in a mount namespace of
 * its own where those places are its own folders under {@code dir}; its socket lies outside them,
 * where virsh reaches it. Each has its own host UUID: libvirt refuses a migration to the host it
 * runs on, and tells hosts apart by that UUID. Root only; the daemons and their guests end with
 * {@link #close()}.
 */
public final class LibvirtPair implements AutoCloseable {
    public static final List<String> NODES = List.of("a", "b");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    /** libvirt's state folders, each mounted over by the daemon's own. */
    private static final List<String> STATE = List.of("/etc/libvirt", "/run/libvirt", "/var/lib/libvirt",
            "/var/cache/libvirt", "/var/log/libvirt");

    private final Path dir;
    private final Map<String, Process> daemons = new LinkedHashMap<>();

    private LibvirtPair(Path dir) {
        this.dir = dir;
    }

    /** Null when the pair can run here, else what is missing and how to get it. */
    public static String unavailableReason() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "it needs root: each libvirt daemon runs in a mount namespace of its own";
        }
        List<String> missing = new ArrayList<>();
        for (String tool : List.of("/usr/sbin/libvirtd", "/usr/bin/virsh", "/usr/bin/unshare")) {
            if (!Files.isExecutable(Path.of(tool))) {
                missing.add(tool);
            }
        }
        if (!Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so"))
                && missing.isEmpty()) {
            missing.add("libvirt's QEMU driver");
        }
        return missing.isEmpty() ? null : "missing " + String.join(", ", missing)
                + "; install libvirt with: scripts/install-deps --libvirt";
    }

    /** Starts both daemons under {@code dir} and waits until each answers. */
    public static LibvirtPair start(Path dir) {
        String reason = unavailableReason();
        if (reason != null) {
            throw new LibvirtException("cannot start libvirt: " + reason);
        }
        LibvirtPair pair = new LibvirtPair(dir);
        try {
            int port = 49152;
            for (String node : NODES) {
                pair.startDaemon(node, port);
                port += 64;
            }
            for (String node : NODES) {
                pair.awaitAnswer(node);
            }
            return pair;
        } catch (RuntimeException e) {
            pair.close();
            throw e;
        }
    }

    /** The connection URI of a node's daemon (its socket). */
    public String uri(String node) {
        return "qemu:///system?socket=" + base(node).resolve("sock/libvirt-sock");
    }

    /** Runs {@code virsh -c URI args...} against a node; its stdout, or an error naming the node and virsh's message. */
    public String virsh(String node, Duration timeout, String... args) {
        TimedCommand.Result r = attempt(node, timeout, args);
        if (r.exit() != 0) {
            throw new LibvirtException("virsh " + args[0] + " on libvirt node " + node + " failed: "
                    + (r.err().isBlank() ? r.out().strip() : r.err().strip()));
        }
        return r.out();
    }

    /** Runs {@code virsh -c URI args...} against a node and reports how it ended, failed or not. */
    private TimedCommand.Result attempt(String node, Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>(List.of("virsh", "-q", "-c", uri(node)));
        cmd.addAll(List.of(args));
        return TimedCommand.run(cmd, timeout);
    }

    /** The daemon's version as virsh reports it, e.g. {@code libvirt 11.3.0, QEMU 10.0.2}. */
    public String version() {
        String v = virsh("a", Duration.ofSeconds(10), "version");
        String lib = v.lines().filter(l -> l.startsWith("Using library:")).map(l -> l.substring(14).strip())
                .findFirst().orElse("libvirt ?");
        String qemu = v.lines().filter(l -> l.startsWith("Running hypervisor:")).map(l -> l.substring(19).strip())
                .findFirst().orElse("QEMU ?");
        return lib + ", " + qemu;
    }

    /** Defines {@code guest} on node a with its console in {@code console}, and starts it. */
    public void boot(LibvirtGuest guest, Path console) {
        Path xml = dir.resolve(guest.name() + "-source.xml");
        try {
            Files.writeString(xml, guest.xml(console));
        } catch (IOException e) {
            throw new LibvirtException("cannot write " + xml + ": " + e.getMessage(), e);
        }
        // defined, not only created: a persistent domain keeps its finished job's statistics on
        // the source after it left, where domjobinfo --completed reads them
        virsh("a", Duration.ofSeconds(20), "define", xml.toString());
        virsh("a", Duration.ofSeconds(30), "start", guest.name());
    }

    /** What {@code virsh migrate} took on the clock, and the job it reported; {@code error} when it failed. */
    public record Migration(long wallMs, VirshJob job, String error) {}

    /**
     * Live-migrates {@code guest} from a to b as {@code virsh migrate --live} does, at
     * {@code bandwidthMiB}; with {@code postcopy}, libvirt's postcopy after the first pass (also
     * limited to that bandwidth). The stream goes to 127.0.0.1: libvirt would otherwise send it to
     * this host's name, which it refuses when that resolves to a loopback address. The target's
     * console goes to {@code targetConsole}. The guest stays where it ended: {@link #remove} it.
     */
    public Migration migrate(LibvirtGuest guest, int bandwidthMiB, boolean postcopy, Path targetConsole,
                             Duration timeout) {
        Path xml = dir.resolve(guest.name() + "-target.xml");
        try {
            Files.writeString(xml, guest.xml(targetConsole));
        } catch (IOException e) {
            throw new LibvirtException("cannot write " + xml + ": " + e.getMessage(), e);
        }
        List<String> args = new ArrayList<>(List.of("migrate", "--live", "--bandwidth", Integer.toString(bandwidthMiB)));
        if (postcopy) {
            args.addAll(List.of("--postcopy", "--postcopy-after-precopy", "--postcopy-bandwidth",
                    Integer.toString(bandwidthMiB)));
        }
        args.addAll(List.of("--xml", xml.toString(), "--migrateuri", "tcp://127.0.0.1", guest.name(), uri("b")));
        TimedCommand.Result r = attempt("a", timeout, args.toArray(String[]::new));
        String error = r.exit() == 0 ? null : (r.err().isBlank() ? r.out() : r.err()).strip();
        if (r.exit() < 0) {
            // virsh did not return in time: abort the job, so the guest stays on a
            attempt("a", Duration.ofSeconds(20), "domjobabort", guest.name());
        }
        VirshJob job = VirshJob.parse(virsh("a", Duration.ofSeconds(10), "domjobinfo", guest.name(), "--completed"));
        return new Migration(r.wallMs(), job, error);
    }

    /** Destroys and undefines {@code guest} on both nodes, wherever it is. */
    public void remove(LibvirtGuest guest) {
        for (String node : NODES) {
            discard(node, guest.name());
        }
    }

    /** Destroys and undefines a domain on a node; one that is not there is no error. */
    private void discard(String node, String name) {
        attempt(node, Duration.ofSeconds(20), "destroy", name);
        attempt(node, Duration.ofSeconds(10), "undefine", name);
    }

    private Path base(String node) {
        return dir.resolve(node);
    }

    private void startDaemon(String node, int migrationPort) {
        Path base = base(node);
        try {
            for (String sub : List.of("etc/qemu", "run", "lib/qemu", "cache", "log/qemu", "sock")) {
                Files.createDirectories(base.resolve(sub));
            }
            Files.writeString(base.resolve("etc/libvirtd.conf"), String.join("\n",
                    "unix_sock_dir = \"" + base.resolve("sock") + "\"",
                    "unix_sock_rw_perms = \"0700\"",
                    "auth_unix_rw = \"none\"",
                    "auth_unix_ro = \"none\"",
                    "host_uuid = \"" + UUID.randomUUID() + "\"",
                    "log_outputs = \"3:file:/var/log/libvirt/libvirtd.log\"", ""));
            // no cgroups, namespaces or security labels: the daemon runs in a container-like host
            // with neither systemd nor a security module; the guests' console logs go to files
            Files.writeString(base.resolve("etc/qemu.conf"), String.join("\n",
                    "user = \"root\"", "group = \"root\"", "dynamic_ownership = 0", "security_driver = \"none\"",
                    "namespaces = [ ]", "cgroup_controllers = [ ]", "stdio_handler = \"file\"",
                    "migration_port_min = " + migrationPort, "migration_port_max = " + (migrationPort + 63), ""));
            Files.writeString(base.resolve("etc/libvirt.conf"), "");
        } catch (IOException e) {
            throw new LibvirtException("cannot write libvirt node " + node + "'s configuration in " + base + ": "
                    + e.getMessage(), e);
        }
        StringBuilder script = new StringBuilder("set -e\n");
        String[] own = {"etc", "run", "lib", "cache", "log"};
        for (int i = 0; i < STATE.size(); i++) {
            script.append("mkdir -p ").append(STATE.get(i)).append("\nmount --bind ").append(base.resolve(own[i]))
                    .append(' ').append(STATE.get(i)).append('\n');
        }
        script.append("exec libvirtd --config /etc/libvirt/libvirtd.conf --pid-file /run/libvirt/libvirtd.pid\n");
        try {
            Process p = new ProcessBuilder("unshare", "--mount", "--propagation", "private", "sh", "-c", script.toString())
                    .redirectErrorStream(true).redirectOutput(base.resolve("daemon.out").toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            daemons.put(node, p);
        } catch (IOException e) {
            throw new LibvirtException("cannot start libvirt node " + node + "'s daemon: " + e.getMessage(), e);
        }
    }

    private void awaitAnswer(String node) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        Path sock = base(node).resolve("sock/libvirt-sock");
        while (true) {
            Process p = daemons.get(node);
            if (!p.isAlive()) {
                throw new LibvirtException("libvirt node " + node + "'s daemon exited at start (code " + p.exitValue()
                        + "): " + errors(node));
            }
            if (Files.exists(sock) && attempt(node, Duration.ofSeconds(5), "version").exit() == 0) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new LibvirtException("libvirt node " + node + "'s daemon did not answer within "
                        + START_TIMEOUT.toSeconds() + " s: " + errors(node));
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LibvirtException("interrupted while starting libvirt node " + node, e);
            }
        }
    }

    /** The daemon's own errors (its log and its output), for a message. */
    private String errors(String node) {
        StringBuilder b = new StringBuilder();
        for (Path f : List.of(base(node).resolve("log/libvirtd.log"), base(node).resolve("daemon.out"))) {
            try {
                if (Files.exists(f)) {
                    // dmidecode cannot read /dev/mem in a container; libvirt carries on without it
                    Files.readAllLines(f).stream().filter(l -> l.contains("error") && !l.contains("dmidecode"))
                            .forEach(l -> b.append(l).append('\n'));
                }
            } catch (IOException ignored) {
                // nothing more to say
            }
        }
        return b.isEmpty() ? "(no error in its log, " + base(node).resolve("log/libvirtd.log") + ")" : b.toString().strip();
    }

    /** Destroys and undefines every guest, stops both daemons and any QEMU they leave behind. */
    @Override
    public void close() {
        for (Map.Entry<String, Process> d : daemons.entrySet()) {
            String node = d.getKey();
            if (d.getValue().isAlive()) {
                TimedCommand.Result list = attempt(node, Duration.ofSeconds(10), "list", "--all", "--name");
                for (String name : list.out().lines().map(String::strip).filter(n -> !n.isEmpty()).toList()) {
                    discard(node, name);
                }
            }
            d.getValue().destroy();
        }
        for (Map.Entry<String, Process> d : daemons.entrySet()) {
            try {
                if (!d.getValue().waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                    d.getValue().destroyForcibly();
                }
            } catch (InterruptedException e) {
                d.getValue().destroyForcibly();
                Thread.currentThread().interrupt();
            }
            killLeftoverQemus(d.getKey());
        }
    }

    /** QEMUs a daemon started write their pid under its run folder; a guest it could not destroy is killed. */
    private void killLeftoverQemus(String node) {
        try (var pids = Files.list(base(node).resolve("run/qemu"))) {
            for (Path pid : pids.filter(p -> p.toString().endsWith(".pid")).toList()) {
                ProcessHandle.of(Long.parseLong(Files.readString(pid).strip())).ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (IOException | NumberFormatException ignored) {
            // no run folder, or nothing left
        }
    }
}
