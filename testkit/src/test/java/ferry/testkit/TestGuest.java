package ferry.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A bootblock guest under TCG, for tests; its COM1 output goes to a file we poll. */
final class TestGuest implements AutoCloseable {
    static final String QEMU = "qemu-system-x86_64";

    final Path serialLog;
    final Path qmpSocket;
    private final Path stderr;
    private final Process process;

    private TestGuest(Path dir, Path image, boolean withQmp) throws IOException {
        serialLog = dir.resolve("serial.log");
        qmpSocket = withQmp ? dir.resolve("qmp.sock") : null;
        stderr = dir.resolve("qemu.stderr");
        List<String> cmd = new ArrayList<>(List.of(QEMU, "-accel", "tcg", "-m", "128M", "-nodefaults",
                "-display", "none", "-serial", "file:" + serialLog,
                "-drive", "file=" + image + ",format=raw,if=ide"));
        if (withQmp) {
            cmd.addAll(List.of("-qmp", "unix:" + qmpSocket + ",server=on,wait=off"));
        }
        process = new ProcessBuilder(cmd).redirectOutput(stderr.toFile()).redirectErrorStream(true).start();
    }

    static TestGuest start(Path dir, Path image, boolean withQmp) throws IOException {
        return new TestGuest(dir, image, withQmp);
    }

    static boolean qemuAvailable() {
        try {
            Process p = new ProcessBuilder(QEMU, "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    String serial() throws IOException {
        return Files.exists(serialLog) ? Files.readString(serialLog, StandardCharsets.ISO_8859_1) : "";
    }

    /** Pass markers after the boot marker, or -1 if the guest has not booted yet. */
    int passes() throws IOException {
        String s = serial();
        int boot = s.indexOf(Bootblock.BOOT_MARKER);
        return boot < 0 ? -1 : (int) s.substring(boot + 1).chars().filter(c -> c == Bootblock.PASS_MARKER).count();
    }

    /** Waits until at least {@code n} passes are logged; false on timeout. */
    boolean awaitPasses(int n, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (passes() >= n) {
                return true;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("QEMU exited with " + process.exitValue() + ": " + diagnostics());
            }
            Thread.sleep(20);
        }
        return false;
    }

    /** Passes per second over {@code window}, counted after the guest has booted. */
    double passRate(Duration window) throws IOException, InterruptedException {
        if (!awaitPasses(1, Duration.ofSeconds(20))) {
            throw new IllegalStateException("guest did not complete a pass: " + diagnostics());
        }
        int before = passes();
        long t0 = System.nanoTime();
        Thread.sleep(window.toMillis());
        int after = passes();
        return (after - before) / ((System.nanoTime() - t0) / 1e9);
    }

    String diagnostics() throws IOException {
        String s = serial();
        String head = s.length() > 200 ? s.substring(0, 200) + "..." : s;
        return "serial=[" + head + "] stderr=[" + (Files.exists(stderr) ? Files.readString(stderr).strip() : "") + "]";
    }

    /** Kills QEMU; never throws, so it can close a try-with-resources block cleanly. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
