package ferry.migration;

import ferry.node.NodeException;
import ferry.node.QemuProcess;
import ferry.protocol.CalcDirtyRateArgs;
import ferry.protocol.Commands;
import ferry.protocol.DirtyRateInfo;
import ferry.protocol.DirtyRateMeasureMode;
import ferry.protocol.DirtyRateStatus;
import ferry.protocol.PmemsaveArgs;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;

/**
 * Measures what the pre-copy model needs from a running guest without migrating it: the dirty
 * rate ({@code calc-dirty-rate}, page sampling, which works under TCG too) and the share of
 * zero pages (a sample of guest RAM read with {@code pmemsave}).
 */
final class GuestProbe {
    /** Pages sampled per GiB by calc-dirty-rate: QEMU's maximum, for the steadiest estimate. */
    static final long SAMPLE_PAGES = 16384;
    static final int ZERO_SAMPLES = 128;
    static final int SAMPLE_BYTES = 64 << 10;
    /** Below 2 GiB guest-physical RAM is one block on the pc machine (above it sits the PCI hole). */
    static final long LOW_RAM = 2L << 30;

    record Measured(double dirtyBytesPerS, double zeroShare, Duration took) {}

    private GuestProbe() {}

    static Measured measure(QemuProcess q, int memoryMiB, Duration dirtyWindow) {
        long t0 = System.nanoTime();
        // QEMU measures the dirty rate in a thread of its own: sample the zero pages meanwhile
        long secs = startDirtyRate(q, dirtyWindow);
        double zero = zeroShare(q, (long) memoryMiB << 20);
        double dirty = awaitDirtyRate(q, secs, t0);
        return new Measured(dirty, zero, Duration.ofNanos(System.nanoTime() - t0));
    }

    /** Starts QEMU's measurement over {@code window} (whole seconds, at least one); returns its seconds. */
    static long startDirtyRate(QemuProcess q, Duration window) {
        long secs = Math.max(1, window.toSeconds());
        q.qmp().call(Commands.CALC_DIRTY_RATE, CalcDirtyRateArgs.builder().calcTime(secs).samplePages(SAMPLE_PAGES)
                .mode(DirtyRateMeasureMode.PAGE_SAMPLING).build());
        return secs;
    }

    /** Bytes per second, from QEMU's MiB/s estimate of the measurement started at {@code startedNanos}. */
    static double awaitDirtyRate(QemuProcess q, long secs, long startedNanos) {
        long deadline = startedNanos + Duration.ofSeconds(secs + 10).toNanos();
        // the measuring thread may not have started right after the command returned
        sleep(Math.max(0, secs * 1000 - (System.nanoTime() - startedNanos) / 1_000_000));
        while (System.nanoTime() < deadline) {
            DirtyRateInfo info = q.qmp().call(Commands.QUERY_DIRTY_RATE, null);
            if (info.status() == DirtyRateStatus.MEASURED && info.dirtyRate() != null && info.calcTime() >= secs) {
                return info.dirtyRate() * 1048576.0;
            }
            sleep(50);
        }
        throw new NodeException("QEMU did not finish measuring the dirty rate within " + (secs + 10) + " s");
    }

    /** Reads {@link #ZERO_SAMPLES} chunks at random guest-physical addresses and counts all-zero pages. */
    static double zeroShare(QemuProcess q, long ramBytes) {
        Path file = q.runDir().resolve("zero-sample.bin");
        long span = Math.min(ramBytes, LOW_RAM) - SAMPLE_BYTES;
        SplittableRandom rnd = new SplittableRandom(ramBytes);
        long pages = 0;
        long zero = 0;
        try {
            for (int i = 0; i < ZERO_SAMPLES; i++) {
                long addr = (rnd.nextLong(Math.max(1, span)) >> 12) << 12;
                q.qmp().call(Commands.PMEMSAVE, new PmemsaveArgs(BigInteger.valueOf(addr),
                        BigInteger.valueOf(SAMPLE_BYTES), file.toString()));
                byte[] data = Files.readAllBytes(file);
                for (int off = 0; off + 4096 <= data.length; off += 4096) {
                    pages++;
                    if (isZero(data, off)) {
                        zero++;
                    }
                }
            }
            return pages == 0 ? 0 : (double) zero / pages;
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

    private static boolean isZero(byte[] d, int off) {
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
