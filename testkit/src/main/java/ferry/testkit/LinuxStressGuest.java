package ferry.testkit;

import ferry.node.NodeException;
import ferry.node.QemuBinary;
import ferry.node.QemuProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A "linux-stress" guest's shape and how to start QEMUs for it: Debian's cloud kernel booting our
 * initramfs (see {@link LinuxStress}), whose init runs a stressor that dirties {@code dirtyMiB}
 * of its memory at {@code rateMiBps} (0 = as fast as it can) and reports on the serial console:
 * {@code FERRY-BOOTED} from init, {@code FERRY-READY} once the memory is touched, then
 * {@link Tick}s every 100 ms and a {@link Gap} whenever it was paused or stalled. Use
 * {@link #available()} first and fall back to the bootblock guest if it is false.
 *
 * <p>Measured under TCG (QEMU 10.0.2, kernel 6.1.0-56-cloud-amd64, 2-core host, -m 256M):
 * init runs about 2 s after the kernel starts, FERRY-READY comes 3-4 s after QEMU starts (touching
 * 64 MiB takes 0.2 s, 160 MiB 0.9 s; syncing to the RTC up to 1 s); paced rates are met to 0.1 MiB/s;
 * unlimited, 128 MiB are dirtied at 15-25 GiB/s (4-6 M pages/s) without dirty tracking. A
 * {@code stop}/{@code cont} of 1001 ms is reported as a 999 ms pause. 160 MiB is the most the
 * stressor can take in 256 MiB; 190 MiB deadlocks the kernel on memory.
 *
 * @param memoryMiB guest RAM
 * @param dirtyMiB  memory the stressor allocates and keeps dirtying; leave the kernel
 *                  {@link #RESERVED_MIB} of the RAM
 * @param rateMiBps dirty rate in MiB/s, one write per 4 KiB page; 0 = unlimited
 */
public record LinuxStressGuest(int memoryMiB, int dirtyMiB, int rateMiBps) {
    /** RAM the kernel and initramfs need besides the stressor's region. */
    public static final int RESERVED_MIB = 96;
    public static final String BOOTED = "FERRY-BOOTED";
    public static final String READY = "FERRY-READY";
    public static final String TICK = "FERRY-TICK";
    public static final String GAP = "FERRY-GAP";
    public static final String ERROR = "FERRY-ERROR";

    public LinuxStressGuest {
        if (dirtyMiB < 1 || rateMiBps < 0) {
            throw new IllegalArgumentException("dirtyMiB must be >= 1 and rateMiBps >= 0: " + dirtyMiB + ", " + rateMiBps);
        }
        if (memoryMiB < dirtyMiB + RESERVED_MIB) {
            throw new IllegalArgumentException("memoryMiB " + memoryMiB + " leaves the kernel less than "
                    + RESERVED_MIB + " MiB besides the " + dirtyMiB + " MiB dirtied");
        }
    }

    /** 256 MiB of RAM, 128 MiB of it dirtied at 20 MiB/s. */
    public static LinuxStressGuest standard() {
        return new LinuxStressGuest(256, 128, 20);
    }

    /** Whether the guest can be built and booted here (see {@link #unavailableReason()}). */
    public static boolean available() {
        return unavailableReason() == null;
    }

    /** Null if available, else what is missing and what to install. */
    public static String unavailableReason() {
        return LinuxStress.unavailableReason();
    }

    /** Where built guest parts are cached; the same place as the bootblock's. */
    public static Path cacheDir() {
        return BootblockGuest.cacheDir();
    }

    public String kernelCommandLine() {
        return "console=ttyS0 quiet panic=-1 ferry.mib=" + dirtyMiB + " ferry.rate=" + rateMiBps;
    }

    /** This guest as a Ferry VM definition (kernel boot, no disks), for clusters and the demo. */
    public ferry.node.VmDefinition definition(int vmid) {
        String reason = unavailableReason();
        if (reason != null) {
            throw new NodeException("the linux-stress guest is unavailable: " + reason);
        }
        Path kernel = LinuxStress.kernel();
        try {
            Path initrd = LinuxStress.initramfs(cacheDir(), kernel);
            return new ferry.node.VmDefinition(vmid, "linux-stress-" + vmid, memoryMiB, 1, null, null,
                    new ferry.node.VmDefinition.Boot(kernel.toString(), initrd.toString(), kernelCommandLine()),
                    List.of(), ferry.node.VmDefinition.Accel.TCG, null);
        } catch (IOException e) {
            throw new NodeException("cannot build the linux-stress initramfs in " + cacheDir() + ": " + e.getMessage(), e);
        }
    }

    /** A builder for the source QEMU; it boots the guest. */
    public QemuProcess.Builder source(QemuBinary qemu, Path runDir) {
        return builder(qemu, runDir, "source");
    }

    /**
     * A builder for a target QEMU that waits for {@code migrate-incoming}. It gets the same
     * kernel, initramfs and command line: QEMU loads them as ROMs, which must match the source's.
     */
    public QemuProcess.Builder incoming(QemuBinary qemu, Path runDir) {
        return builder(qemu, runDir, "target").args("-incoming", "defer");
    }

    private QemuProcess.Builder builder(QemuBinary qemu, Path runDir, String name) {
        String reason = unavailableReason();
        if (reason != null) {
            throw new NodeException("the linux-stress guest is unavailable: " + reason);
        }
        Path kernel = LinuxStress.kernel();
        Path initrd;
        try {
            initrd = LinuxStress.initramfs(cacheDir(), kernel);
            Files.createDirectories(runDir);
        } catch (IOException e) {
            throw new NodeException("cannot build the linux-stress initramfs in " + cacheDir() + ": " + e.getMessage(), e);
        }
        // -no-reboot with panic=-1: a guest that dies makes QEMU exit instead of rebooting.
        return QemuProcess.builder(qemu, runDir).name(name).memoryMiB(memoryMiB)
                .args("-kernel", kernel.toString(), "-initrd", initrd.toString(), "-append", kernelCommandLine(),
                        "-no-reboot");
    }

    /**
     * One FERRY-TICK line: tick number since the stressor started, guest wall clock, MiB dirtied so
     * far, and the stressor's loop slices run so far (-1 from a stressor that does not print them):
     * at most 100 a second, and no more than one lost slice is made up after a late wake-up.
     */
    public record Tick(long seq, long wallMs, double dirtiedMiB, long slices) {
        public Tick(long seq, long wallMs, double dirtiedMiB) {
            this(seq, wallMs, dirtiedMiB, -1);
        }
    }

    /**
     * One FERRY-GAP line. A {@link Kind#PAUSE} is time the VM did not run (stopped, e.g. a
     * migration's downtime), measured against the host's clock via the RTC, to about 10 ms, and
     * reported 1-3 s after the resume; {@code atMs} (guest wall clock) is when the guest noticed,
     * at or up to about 1 s after the resume. A {@link Kind#STALL} is time the guest ran but the
     * stressor did not, beyond its 10 ms slice; {@code atMs} is the end of it.
     */
    public record Gap(long ms, long atMs, Kind kind) {
        public enum Kind { PAUSE, STALL }
    }

    public static List<Tick> ticks(QemuProcess q) {
        return ticks(serial(q.serialLog()));
    }

    /** The ticks in a serial log's text; only complete lines count. */
    public static List<Tick> ticks(String serial) {
        List<Tick> ticks = new ArrayList<>();
        for (String[] f : fields(serial, TICK)) {
            if (f.length >= 3) {
                try {
                    ticks.add(new Tick(Long.parseLong(f[0]), Long.parseLong(f[1]), Double.parseDouble(f[2]),
                            f.length >= 4 ? Long.parseLong(f[3]) : -1));
                } catch (NumberFormatException ignored) {
                    // a line garbled by other console output
                }
            }
        }
        return ticks;
    }

    public static List<Gap> gaps(QemuProcess q) {
        return gaps(serial(q.serialLog()));
    }

    public static List<Gap> gaps(String serial) {
        List<Gap> gaps = new ArrayList<>();
        for (String[] f : fields(serial, GAP)) {
            if (f.length >= 3 && (f[2].equals("pause") || f[2].equals("stall"))) {
                try {
                    gaps.add(new Gap(Long.parseLong(f[0]), Long.parseLong(f[1]),
                            f[2].equals("pause") ? Gap.Kind.PAUSE : Gap.Kind.STALL));
                } catch (NumberFormatException ignored) {
                    // garbled
                }
            }
        }
        return gaps;
    }

    /** MiB/s dirtied between the first and the last tick, by the guest's clock; NaN if under two. */
    public static double dirtyRate(List<Tick> ticks) {
        if (ticks.size() < 2) {
            return Double.NaN;
        }
        Tick a = ticks.getFirst();
        Tick b = ticks.getLast();
        return b.wallMs() == a.wallMs() ? Double.NaN : (b.dirtiedMiB() - a.dirtiedMiB()) * 1000.0 / (b.wallMs() - a.wallMs());
    }

    /**
     * Waits until the stressor reports ready (memory touched, dirtying started) and returns how
     * long that took. Fails at once if QEMU exits or the guest reports an error.
     */
    public static Duration awaitBooted(QemuProcess q, Duration timeout) {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        while (true) {
            String s = serial(q.serialLog());
            if (completeLines(s).contains(READY + " ")) {
                return Duration.ofNanos(System.nanoTime() - start);
            }
            int err = s.indexOf(ERROR);
            if (err >= 0) {
                int eol = s.indexOf('\n', err);
                throw new NodeException("the linux-stress guest in " + q + " failed: "
                        + s.substring(err, eol < 0 ? s.length() : eol).strip());
            }
            if (!q.isAlive()) {
                throw new NodeException(q + " exited before the linux-stress guest was ready; serial: " + tail(s));
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the linux-stress guest in " + q + " was not ready within " + timeout.toSeconds()
                        + " s (" + (s.contains(BOOTED) ? "init ran, the stressor did not report" : "init did not run")
                        + "); serial: " + tail(s));
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted");
            }
        }
    }

    /** Waits until at least {@code n} ticks are logged and returns them. */
    public static List<Tick> awaitTicks(QemuProcess q, int n, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<Tick> t = ticks(q);
            if (t.size() >= n) {
                return t;
            }
            if (System.nanoTime() > deadline || !q.isAlive()) {
                throw new AssertionError(q + " logged " + t.size() + " ticks, wanted " + n + " within "
                        + timeout.toSeconds() + " s; serial: " + tail(serial(q.serialLog())));
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted");
            }
        }
    }

    static String serial(Path log) {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** The text up to the last newline: a line still being written is left out. */
    static String completeLines(String s) {
        int nl = s.lastIndexOf('\n');
        return nl < 0 ? "" : s.substring(0, nl + 1);
    }

    /** For each complete line holding {@code marker + " "}, the space-separated fields after it. */
    private static List<String[]> fields(String serial, String marker) {
        List<String[]> out = new ArrayList<>();
        for (String line : completeLines(serial).split("\n")) {
            int at = line.indexOf(marker + " ");
            if (at >= 0) {
                out.add(line.substring(at + marker.length()).strip().split("\\s+"));
            }
        }
        return out;
    }

    private static String tail(String s) {
        String t = s.strip();
        return t.isEmpty() ? "(empty)" : "[" + (t.length() > 600 ? "..." + t.substring(t.length() - 600) : t) + "]";
    }
}
