package ferry.migration.plan;

import ferry.node.NodeException;
import ferry.node.QemuProcess;
import ferry.protocol.CalcDirtyRateArgs;
import ferry.protocol.Commands;
import ferry.protocol.DirtyRateInfo;
import ferry.protocol.DirtyRateMeasureMode;
import ferry.protocol.DirtyRateStatus;
import ferry.protocol.PmemsaveArgs;
import ferry.protocol.QueryDirtyRateArgs;
import ferry.protocol.TimeUnit;
import ferry.qmp.QmpCommandException;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.IntPredicate;

/**
 * Measures what the pre-copy model needs from a running guest without migrating it: the dirty
 * rate ({@code calc-dirty-rate}, page sampling, which works under TCG too) and the share of
 * zero pages (chunks of guest RAM read with {@code pmemsave}, spread evenly over its low 2 GiB).
 */
public final class GuestProbe {
    /** Pages sampled per GiB by calc-dirty-rate: QEMU's maximum, for the steadiest estimate. */
    static final long SAMPLE_PAGES = 16384;
    /** Chunks read for the zero share: at most this many, at least the minimum, else while the dirty rate is measured. */
    static final int ZERO_SAMPLES = 128;
    static final int MIN_ZERO_SAMPLES = 16;
    static final int SAMPLE_BYTES = 64 << 10;
    /** The golden ratio's fractional part: stepping by it keeps any number of points evenly spread. */
    static final double GOLDEN_STEP = 0.6180339887498949;
    /** Below 2 GiB guest-physical RAM is one block on the pc machine (above it sits the PCI hole). */
    static final long LOW_RAM = 2L << 30;
    /** Longest wait for a measurement someone else started (the longest we start is 60 s, {@code ferry plan --sample}). */
    static final Duration BUSY_WAIT = Duration.ofSeconds(65);
    /** QEMU's shortest measurement. */
    static final long MIN_WINDOW_MS = 100;

    /**
     * @param waitShare the share of its runnable time the guest waited for a host CPU during the
     *                  sample kept; -1 where the host does not tell
     * @param starvedShare that share in the first sample when it was starved and taken again, else -1
     */
    public record Measured(double dirtyBytesPerS, double zeroShare, Duration took, double waitShare, double starvedShare) {}

    private GuestProbe() {}

    /**
     * The dirty rate over {@code dirtyWindow} and the zero share. When the guest waited for the
     * host most of that window (see {@link VcpuTime}), its rate is taken once more and the less
     * starved of the two kept: one busy moment on the host would otherwise make a guest look calm.
     */
    public static Measured measure(QemuProcess q, int memoryMiB, Duration dirtyWindow) {
        long t0 = System.nanoTime();
        VcpuTime before = VcpuTime.read(q);
        // QEMU measures the dirty rate in a thread of its own: sample the zero pages meanwhile
        Duration window = startDirtyRate(q, dirtyWindow);
        // reading memory stops when the dirty rate is in
        double zero = zeroShare(q, (long) memoryMiB << 20, t0 + window.toNanos());
        double dirty = awaitDirtyRate(q, window, t0);
        VcpuTime first = spentSince(q, before);
        if (first == null || !first.starved(window)) {
            return new Measured(dirty, zero, Duration.ofNanos(System.nanoTime() - t0), first == null ? -1
                    : first.waitShare(), -1);
        }
        long t1 = System.nanoTime();
        VcpuTime before2 = VcpuTime.read(q);
        double dirty2 = awaitDirtyRate(q, startDirtyRate(q, dirtyWindow), t1);
        VcpuTime second = spentSince(q, before2);
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        return second != null && second.waitShare() < first.waitShare()
                ? new Measured(dirty2, zero, took, second.waitShare(), first.waitShare())
                : new Measured(dirty, zero, took, first.waitShare(), first.waitShare());
    }

    /**
     * The second, longer sample: the dirty rate over {@code window} beside the first sample's
     * {@code shortBytesPerS}, and the working set they show (see {@link WorkingSet}), over the window
     * QEMU really measured (whole seconds before 8.2: 3 s for 2.5). For a guest that writes, a third
     * window of {@link WorkingSet#MIDDLE} follows: where the two left it
     * {@linkplain WorkingSet#unsure() unsure} it stands in for the short one, and where they found a
     * set it {@linkplain WorkingSet#steadied steadies} the rate.
     */
    public static WorkingSet workingSet(QemuProcess q, double shortBytesPerS, Duration window) {
        return workingSet(q, shortBytesPerS, window, unsure -> {});
    }

    /**
     * As {@link #workingSet(QemuProcess, double, Duration)}, handing {@code beforeMiddle} what the two
     * windows showed when the third one follows: that is still a sample of its own of how fast the
     * guest writes, a second after the first, while the third costs another {@link WorkingSet#MIDDLE}.
     */
    public static WorkingSet workingSet(QemuProcess q, double shortBytesPerS, Duration window,
                                        Consumer<WorkingSet> beforeMiddle) {
        long t0 = System.nanoTime();
        Duration measured = startDirtyRate(q, window);
        double longBytesPerS = awaitDirtyRate(q, measured, t0);
        WorkingSet w = WorkingSet.of(shortBytesPerS, longBytesPerS, measured);
        if (!(w.unsure() || w.found()) || measured.compareTo(WorkingSet.MIDDLE.multipliedBy(2)) < 0) {
            return w;
        }
        beforeMiddle.accept(w);
        long t1 = System.nanoTime();
        Duration middle = startDirtyRate(q, WorkingSet.MIDDLE);
        double middleBytesPerS = awaitDirtyRate(q, middle, t1);
        return w.found() ? WorkingSet.steadied(w, middleBytesPerS, middle)
                : WorkingSet.withMiddle(shortBytesPerS, middleBytesPerS, longBytesPerS, measured);
    }

    private static VcpuTime spentSince(QemuProcess q, VcpuTime before) {
        VcpuTime now = before == null ? null : VcpuTime.read(q);
        return now == null ? null : now.since(before);
    }

    /**
     * Starts QEMU's measurement over {@code window} and returns the window QEMU really measures:
     * to the millisecond where QEMU has {@code calc-time-unit} (8.2 and newer), else in whole
     * seconds, at least one. An older QEMU is found by its refusal of the unit, not by its version.
     */
    static Duration startDirtyRate(QemuProcess q, Duration window) {
        awaitIdle(q);
        long ms = Math.max(MIN_WINDOW_MS, window.toMillis());
        if (ms % 1000 != 0) {
            try {
                q.qmp().call(Commands.CALC_DIRTY_RATE, CalcDirtyRateArgs.builder().calcTime(ms)
                        .calcTimeUnit(TimeUnit.MILLISECOND).samplePages(SAMPLE_PAGES)
                        .mode(DirtyRateMeasureMode.PAGE_SAMPLING).build());
                return Duration.ofMillis(ms);
            } catch (QmpCommandException e) {
                // QEMU before 8.2 measures in whole seconds only ("Parameter 'calc-time-unit' is
                // unexpected"); any other refusal is the caller's to see
                if (e.getMessage() == null || !e.getMessage().contains("calc-time-unit")) {
                    throw e;
                }
            }
        }
        long secs = Math.max(1, (ms + 999) / 1000);
        q.qmp().call(Commands.CALC_DIRTY_RATE, CalcDirtyRateArgs.builder().calcTime(secs).samplePages(SAMPLE_PAGES)
                .mode(DirtyRateMeasureMode.PAGE_SAMPLING).build());
        return Duration.ofSeconds(secs);
    }

    /**
     * QEMU measures one dirty rate at a time and refuses a second: a measurement still running (the
     * longer sample of a migration that was just cancelled, another planner) is waited for.
     */
    private static void awaitIdle(QemuProcess q) {
        long deadline = System.nanoTime() + BUSY_WAIT.toNanos();
        while (q.qmp().call(Commands.QUERY_DIRTY_RATE, null).status() == DirtyRateStatus.MEASURING) {
            if (System.nanoTime() > deadline) {
                throw new NodeException("QEMU is still measuring another dirty rate after " + BUSY_WAIT.toSeconds()
                        + " s");
            }
            sleep(20);
        }
    }

    /** Bytes per second, from QEMU's MiB/s estimate of the measurement started at {@code startedNanos}. */
    static double awaitDirtyRate(QemuProcess q, Duration window, long startedNanos) {
        long deadline = startedNanos + window.plusSeconds(10).toNanos();
        boolean inMs = window.toMillis() % 1000 != 0;
        // the measuring thread may not have started right after the command returned
        sleep(Math.max(0, window.toMillis() - (System.nanoTime() - startedNanos) / 1_000_000));
        while (System.nanoTime() < deadline) {
            // QEMU reports in seconds unless asked otherwise: a 300 ms window would read as 0
            DirtyRateInfo info = q.qmp().call(Commands.QUERY_DIRTY_RATE, inMs ? new QueryDirtyRateArgs(TimeUnit.MILLISECOND) : null);
            long measuredMs = inMs ? info.calcTime() : info.calcTime() * 1000;
            if (info.status() == DirtyRateStatus.MEASURED && info.dirtyRate() != null && measuredMs >= window.toMillis()) {
                return info.dirtyRate() * 1048576.0;
            }
            sleep(5); // the plan waits for this answer: a cheap local query, asked often
        }
        throw new NodeException("QEMU did not finish measuring the dirty rate within " + window.plusSeconds(10).toSeconds()
                + " s");
    }

    /** Reads {@code bytes} of guest-physical RAM from {@code addr}. */
    interface RamReader {
        byte[] read(long addr, int bytes) throws IOException;
    }

    /** {@link #zeroShare(RamReader, long, long)} on the guest's RAM, read with {@code pmemsave}. */
    static double zeroShare(QemuProcess q, long ramBytes, long untilNanos) {
        Path file = q.runDir().resolve("zero-sample.bin");
        try {
            return zeroShare((addr, bytes) -> {
                q.qmp().call(Commands.PMEMSAVE, new PmemsaveArgs(BigInteger.valueOf(addr), BigInteger.valueOf(bytes),
                        file.toString()));
                return Files.readAllBytes(file);
            }, ramBytes, untilNanos);
        } catch (IOException e) {
            throw new NodeException("cannot read the guest memory sample " + file + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a leftover sample file in the run directory does no harm
            }
        }
    }

    /**
     * The share of all-zero pages in {@link #ZERO_SAMPLES} chunks of RAM, or as many as are read
     * before {@code untilNanos} but at least {@link #MIN_ZERO_SAMPLES}.
     */
    static double zeroShare(RamReader ram, long ramBytes, long untilNanos) throws IOException {
        return zeroShare(ram, ramBytes,
                i -> i < ZERO_SAMPLES && (i < MIN_ZERO_SAMPLES || System.nanoTime() - untilNanos < 0));
    }

    /**
     * The share of all-zero pages in the chunks read while {@code more} holds for their count. They
     * follow a golden-ratio sequence, so however many are read they lie evenly over the RAM below
     * {@link #LOW_RAM} (above it the pc machine's second block is not read). A guest's zero pages
     * lie in long runs: 32 random chunks (about 40 fit in the 200 ms sample) read 0.41-0.88 of an
     * idle guest's pages as zero where 0.64 were (S1, 200 starting points), 32 evenly spread ones
     * 0.53-0.78. The start is fixed by the RAM's size, so one guest is read the same way each time.
     */
    static double zeroShare(RamReader ram, long ramBytes, IntPredicate more) throws IOException {
        long span = Math.min(ramBytes, LOW_RAM) - SAMPLE_BYTES;
        double at = new SplittableRandom(ramBytes).nextDouble();
        long pages = 0;
        long zero = 0;
        for (int i = 0; more.test(i); i++) {
            long addr = ((long) (at * Math.max(1, span)) >> 12) << 12;
            at = (at + GOLDEN_STEP) % 1.0;
            byte[] data = ram.read(addr, SAMPLE_BYTES);
            for (int off = 0; off + 4096 <= data.length; off += 4096) {
                pages++;
                if (isZero(data, off)) {
                    zero++;
                }
            }
        }
        return pages == 0 ? 0 : (double) zero / pages;
    }

    static boolean isZero(byte[] d, int off) {
        for (int i = off; i < off + 4096; i++) {
            if (d[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodeException("interrupted while measuring the guest");
        }
    }
}
