package ferry.testkit;

import ferry.node.NodeException;
import ferry.node.QemuBinary;
import ferry.node.QemuProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.function.ToIntFunction;

/**
 * A bootblock guest's shape (RAM, dirtied region, delay) and how to start QEMUs for it: a running
 * source, or an incoming target with the same devices. Each QEMU gets its own copy of the 512-byte
 * boot disk, so two QEMUs on one host never contend for a disk lock.
 */
public record BootblockGuest(int memoryMiB, long regionEnd, int delay) {
    /** 128 MiB of RAM, the default 99 MiB region, dirtying at full speed. */
    public static BootblockGuest standard() {
        return new BootblockGuest(128, Bootblock.DEFAULT_REGION_END, 0);
    }

    /** Where built guest images are cached: $FERRY_CACHE, else ~/.cache/ferry. */
    public static Path cacheDir() {
        String env = System.getenv("FERRY_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "ferry");
    }

    /** A builder for the source QEMU; it boots the guest. */
    public QemuProcess.Builder source(QemuBinary qemu, Path runDir) {
        return builder(qemu, runDir, "source");
    }

    /** A builder for a target QEMU that waits for {@code migrate-incoming}. */
    public QemuProcess.Builder incoming(QemuBinary qemu, Path runDir) {
        return builder(qemu, runDir, "target").args("-incoming", "defer");
    }

    private QemuProcess.Builder builder(QemuBinary qemu, Path runDir, String name) {
        Path disk = runDir.resolve("boot.img");
        try {
            Files.createDirectories(runDir);
            Files.copy(Bootblock.image(cacheDir(), regionEnd, delay), disk, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new NodeException("cannot prepare the bootblock disk in " + runDir + ": " + e.getMessage(), e);
        }
        return QemuProcess.builder(qemu, runDir).name(name).memoryMiB(memoryMiB)
                .args("-drive", "file=" + disk + ",format=raw,if=ide");
    }

    /** Pass markers the guest printed since boot; -1 before it booted. */
    public static int passes(QemuProcess q) {
        String s = serial(q);
        int boot = s.indexOf(Bootblock.BOOT_MARKER);
        return boot < 0 ? -1 : count(s.substring(boot + 1));
    }

    /**
     * Waits until the guest whose serial log is {@code serialLog} (a QEMU an agent runs, which
     * a test cannot attach to) has printed {@code n} pass markers since it booted: after one, its
     * whole region holds data, so a migration has that much to send.
     */
    public static void awaitPasses(Path serialLog, int n, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String s;
            try {
                s = Files.exists(serialLog) ? Files.readString(serialLog, StandardCharsets.ISO_8859_1) : "";
            } catch (IOException e) {
                s = "";
            }
            int boot = s.indexOf(Bootblock.BOOT_MARKER);
            int passes = boot < 0 ? -1 : count(s.substring(boot + 1));
            if (passes >= n) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the guest logged " + passes + " passes in " + serialLog + ", wanted " + n
                        + " within " + timeout.toMillis() + " ms");
            }
            Thread.sleep(100);
        }
    }

    /**
     * Pass markers in the serial log, with or without a boot marker. A guest that arrived by
     * migration prints no boot marker on its new QEMU, only the passes it makes there.
     */
    public static int passMarkers(QemuProcess q) {
        String s = serial(q);
        int boot = s.indexOf(Bootblock.BOOT_MARKER);
        return count(boot < 0 ? s : s.substring(boot + 1));
    }

    /**
     * How fast the running guest rewrites its region here and now, in bytes per second, timed
     * from one pass marker to the one {@code window} or more later (at least two passes): under
     * TCG this depends on the host's speed, and counting markers in a fixed window rounds a slow
     * guest down to nothing. Gives up after a minute with 0.
     */
    public double dirtyBytesPerS(QemuProcess q, Duration window) {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        int first = passMarkers(q);
        while (passMarkers(q) == first && System.nanoTime() < deadline) {
            pause();
        }
        int from = passMarkers(q);
        long start = System.nanoTime();
        int now = from;
        while ((now - from < 2 || System.nanoTime() - start < window.toNanos()) && System.nanoTime() < deadline) {
            pause();
            now = passMarkers(q);
        }
        double secs = (System.nanoTime() - start) / 1e9;
        return (now - from) * Bootblock.pages(regionEnd) * 4096.0 / secs;
    }

    private static void pause() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits until the guest has made at least {@code n} passes since boot. */
    public static void awaitPasses(QemuProcess q, int n, Duration timeout) {
        await(q, n, timeout, BootblockGuest::passes, "passes");
    }

    /** Waits until the serial log holds at least {@code n} pass markers (see {@link #passMarkers}). */
    public static void awaitPassMarkers(QemuProcess q, int n, Duration timeout) {
        await(q, n, timeout, BootblockGuest::passMarkers, "pass markers");
    }

    private static void await(QemuProcess q, int n, Duration timeout, ToIntFunction<QemuProcess> counter, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (counter.applyAsInt(q) < n) {
            if (!q.isAlive()) {
                throw new AssertionError(q + " exited with " + counter.applyAsInt(q) + " " + what + " logged, wanted "
                        + n + "; see " + q.qemuLog());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("guest in " + q + " logged " + counter.applyAsInt(q) + " " + what + ", wanted " + n
                        + " within " + timeout.toMillis() + " ms");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted");
            }
        }
    }

    private static String serial(QemuProcess q) {
        try {
            return Files.exists(q.serialLog()) ? Files.readString(q.serialLog(), StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static int count(String log) {
        return (int) log.chars().filter(c -> c == Bootblock.PASS_MARKER).count();
    }

    /**
     * Dumps the dirtied region of a stopped guest with {@code pmemsave} and checks it with the
     * page oracle.
     */
    public PageOracle.Result checkMemory(QemuProcess q) {
        if (q.qmp().call(ferry.protocol.Commands.QUERY_STATUS).running()) {
            // a dump of a running guest mixes passes and fails the oracle for the wrong reason
            throw new IllegalStateException(q + " is running; stop it before checking its memory");
        }
        Path dump = q.runDir().resolve("region.dump");
        long size = regionEnd - Bootblock.REGION_START;
        q.qmp().call(ferry.protocol.Commands.PMEMSAVE, ferry.protocol.PmemsaveArgs.builder()
                .val(java.math.BigInteger.valueOf(Bootblock.REGION_START)).size(java.math.BigInteger.valueOf(size)).filename(dump.toString()).build());
        try {
            return PageOracle.check(dump);
        } catch (IOException e) {
            throw new NodeException("cannot read the memory dump " + dump + ": " + e.getMessage(), e);
        }
    }
}
