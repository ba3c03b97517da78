package ferry.node;

import ferry.protocol.Commands;
import ferry.protocol.Events;
import ferry.qmp.QmpClient;
import ferry.qmp.QmpException;
import ferry.qmp.QmpOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One QEMU process with its run directory (QMP socket, pid file, serial log, QEMU's own log) and
 * a connected QMP client. Closing it stops QEMU: {@code quit} first, then signals.
 */
public final class QemuProcess implements AutoCloseable {
    private final ProcessHandle process;
    private final Path runDir;
    private final QmpClient qmp;
    private final String name;

    private QemuProcess(ProcessHandle process, Path runDir, QmpClient qmp, String name) {
        this.process = process;
        this.runDir = runDir;
        this.qmp = qmp;
        this.name = name;
    }

    /**
     * Finds the QEMU that runs from {@code runDir} (a pid file and a live QMP socket there) and
     * connects to it; empty when none runs. QEMU outlives the process that started it, so an
     * agent that restarts finds its VMs again this way.
     */
    public static java.util.Optional<QemuProcess> attach(Path runDir, QmpOptions options) {
        Path pidFile = runDir.resolve("qemu.pid");
        Path sock = runDir.resolve("qmp.sock");
        try {
            if (!Files.exists(pidFile) || !Files.exists(sock)) {
                return java.util.Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile).strip());
            ProcessHandle h = ProcessHandle.of(pid).filter(ProcessHandle::isAlive).orElse(null);
            // a stale pid file may name a recycled pid: it must be a QEMU of this run dir
            if (h == null || h.info().arguments().map(a -> !String.join(" ", a).contains(sock.toString())).orElse(true)) {
                return java.util.Optional.empty();
            }
            return java.util.Optional.of(new QemuProcess(h, runDir, QmpClient.connect(sock, withBindingEvents(options)),
                    runDir.getFileName().toString()));
        } catch (IOException | NumberFormatException e) {
            return java.util.Optional.empty();
        } catch (QmpException e) {
            throw new NodeException("QEMU in " + runDir + " runs but its QMP socket does not answer: " + e.getMessage(), e);
        }
    }

    public static Builder builder(QemuBinary binary, Path runDir) {
        return new Builder(binary, runDir);
    }

    public QmpClient qmp() {
        return qmp;
    }

    public long pid() {
        return process.pid();
    }

    public Path runDir() {
        return runDir;
    }

    public Path qmpSocket() {
        return runDir.resolve("qmp.sock");
    }

    public Path serialLog() {
        return runDir.resolve("serial.log");
    }

    /** QEMU's own stdout and stderr. */
    public Path qemuLog() {
        return runDir.resolve("qemu.log");
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for QEMU to exit by itself; true if it did within the time. */
    public boolean waitForExit(Duration timeout) {
        try {
            process.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return !process.isAlive();
        } catch (java.util.concurrent.ExecutionException e) {
            return !process.isAlive();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Closes only the QMP connection; QEMU keeps running and can be attached to again. */
    public void detach() {
        qmp.close();
    }

    /** Kills QEMU at once (SIGKILL), as a crash would. */
    public void kill() {
        process.destroyForcibly();
        waitForExit(Duration.ofSeconds(10));
        qmp.close();
    }

    /** Asks QEMU to quit, then SIGTERM, then SIGKILL, each bounded by {@code grace}. */
    public void stop(Duration grace) {
        if (process.isAlive() && qmp.isOpen()) {
            try {
                qmp.call(Commands.QUIT, null, grace);
            } catch (QmpException ignored) {
                // QEMU may close the socket before it answers; the exit below is what counts
            }
        }
        if (!waitForExit(grace)) {
            process.destroy();
            if (!waitForExit(grace)) {
                process.destroyForcibly();
                waitForExit(grace);
            }
        }
        qmp.close();
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(5));
    }

    @Override
    public String toString() {
        return "QEMU '" + name + "' (pid " + process.pid() + ", " + runDir + ")";
    }

    /** Assembles the command line; everything has a safe default for a headless test guest. */
    public static final class Builder {
        private final QemuBinary binary;
        private final Path runDir;
        private String name = "ferry";
        private String machine = "pc";
        private List<String> accel = List.of("tcg");
        private int memoryMiB = 128;
        private final List<String> extra = new ArrayList<>();
        private QmpOptions qmpOptions = QmpOptions.defaults();
        private Duration startTimeout = Duration.ofSeconds(30);

        private Builder(QemuBinary binary, Path runDir) {
            this.binary = binary;
            this.runDir = runDir;
        }

        public Builder name(String n) {
            this.name = n;
            return this;
        }

        public Builder machine(String m) {
            this.machine = m;
            return this;
        }

        /** Accelerators in order of preference, e.g. {@code kvm, tcg}. */
        public Builder accel(String... a) {
            this.accel = List.of(a);
            return this;
        }

        public Builder memoryMiB(int mib) {
            this.memoryMiB = mib;
            return this;
        }

        public Builder args(String... more) {
            extra.addAll(List.of(more));
            return this;
        }

        public Builder qmpOptions(QmpOptions o) {
            this.qmpOptions = o;
            return this;
        }

        public Builder startTimeout(Duration d) {
            this.startTimeout = d;
            return this;
        }

        List<String> commandLine() {
            List<String> cmd = new ArrayList<>(List.of(binary.path().toString()));
            cmd.addAll(binary.dataArgs());
            cmd.addAll(List.of("-name", "guest=" + name,
                    "-machine", machine, "-m", memoryMiB + "M", "-nodefaults", "-no-user-config", "-display", "none",
                    "-qmp", "unix:" + runDir.resolve("qmp.sock") + ",server=on,wait=off",
                    "-pidfile", runDir.resolve("qemu.pid").toString(),
                    "-serial", "file:" + runDir.resolve("serial.log")));
            for (String a : accel) {
                cmd.add("-accel");
                cmd.add(a);
            }
            cmd.addAll(extra);
            return cmd;
        }

        public QemuProcess start() {
            Path sock = runDir.resolve("qmp.sock");
            Process p;
            try {
                Files.createDirectories(runDir);
                Files.deleteIfExists(sock);
                Path log = runDir.resolve("qemu.log");
                ProcessBuilder pb = new ProcessBuilder(commandLine()).redirectErrorStream(true)
                        .redirectOutput(log.toFile());
                binary.environment(pb.environment());
                p = pb.start();
            } catch (IOException e) {
                throw new NodeException("cannot start " + binary.path() + " in " + runDir + ": " + e.getMessage(), e);
            }
            long deadline = System.nanoTime() + startTimeout.toNanos();
            QmpOptions opts = withBindingEvents(qmpOptions);
            while (true) {
                if (!p.isAlive()) {
                    throw new NodeException("QEMU '" + name + "' exited at start (code " + p.exitValue() + "): "
                            + tail(runDir.resolve("qemu.log")));
                }
                if (Files.exists(sock)) {
                    try {
                        return new QemuProcess(p.toHandle(), runDir, QmpClient.connect(sock, opts), name);
                    } catch (QmpException e) {
                        if (System.nanoTime() > deadline) {
                            p.destroyForcibly();
                            throw new NodeException("QEMU '" + name + "' started but its QMP socket did not answer: "
                                    + e.getMessage(), e);
                        }
                    }
                }
                if (System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new NodeException("QEMU '" + name + "' did not open its QMP socket within "
                            + startTimeout.toSeconds() + " s: " + tail(runDir.resolve("qemu.log")));
                }
                sleep(20);
            }
        }
    }

    /** Events decode to the binding's records unless the caller chose other types. */
    private static QmpOptions withBindingEvents(QmpOptions options) {
        return options.eventTypes().isEmpty() ? options.withEventTypes(Events.TYPES) : options;
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            String t = String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size())).strip();
            return t.isEmpty() ? "(QEMU printed nothing; see " + log + ")" : t;
        } catch (IOException e) {
            return "(no log at " + log + ")";
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodeException("interrupted while starting QEMU");
        }
    }
}
