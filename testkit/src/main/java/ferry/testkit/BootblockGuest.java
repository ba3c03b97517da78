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
        String s;
        try {
            s = Files.exists(q.serialLog()) ? Files.readString(q.serialLog(), StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            return -1;
        }
        int boot = s.indexOf(Bootblock.BOOT_MARKER);
        return boot < 0 ? -1 : (int) s.substring(boot + 1).chars().filter(c -> c == Bootblock.PASS_MARKER).count();
    }

    /** Waits until the guest has made at least {@code n} passes. */
    public static void awaitPasses(QemuProcess q, int n, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (passes(q) < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("guest in " + q + " made " + passes(q) + " passes, wanted " + n
                        + " within " + timeout.toSeconds() + " s");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted");
            }
        }
    }

    /**
     * Dumps the dirtied region of a stopped guest with {@code pmemsave} and checks it with the
     * page oracle.
     */
    public PageOracle.Result checkMemory(QemuProcess q) {
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
