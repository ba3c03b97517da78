package ferry.migration.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * The zero share's chunks against RAM whose used pages lie in one run, as a guest's do (the
 * kernel low, a workload's region somewhere above, the rest never touched): wherever the run lies
 * and however long it is, the share read is close to the real one, for any number of chunks read.
 */
class ZeroShareTest {
    static final long RAM = 256L << 20;

    /** RAM whose pages in [from, from + length) hold data and all others are zero; counts the reads. */
    static final class OneRun implements GuestProbe.RamReader {
        final long from;
        final long length;
        int reads;

        OneRun(long from, long length) {
            this.from = from;
            this.length = length;
        }

        @Override
        public byte[] read(long addr, int bytes) {
            reads++;
            byte[] b = new byte[bytes];
            for (int off = 0; off < bytes; off += 4096) {
                long page = addr + off;
                if (page >= from && page < from + length) {
                    b[off + 7] = 1;
                }
            }
            return b;
        }

        double zeroShare() {
            return 1 - (double) length / RAM;
        }
    }

    /** The largest error with {@code chunks} read, over every 4 MiB position of runs of 8 to 192 MiB. */
    static double worstError(int chunks) throws IOException {
        double worst = 0;
        for (long length : new long[] {8L << 20, 32L << 20, 64L << 20, 128L << 20, 192L << 20}) {
            for (long from = 0; from + length <= RAM; from += 4L << 20) {
                OneRun ram = new OneRun(from, length);
                double share = GuestProbe.zeroShare(ram, RAM, i -> i < chunks);
                assertThat(ram.reads).isEqualTo(chunks);
                worst = Math.max(worst, Math.abs(share - ram.zeroShare()));
            }
        }
        return worst;
    }

    /**
     * Evenly spread chunks miss by at most two chunks' worth of pages, however many are read;
     * random ones missed by 6 (of 16) to 18 (of 120) on the same runs.
     */
    @Test
    void anyNumberOfChunksLiesEvenlyOverTheRam() throws IOException {
        for (int chunks = GuestProbe.MIN_ZERO_SAMPLES; chunks <= GuestProbe.ZERO_SAMPLES; chunks += 8) {
            assertThat(worstError(chunks)).as(chunks + " chunks").isLessThanOrEqualTo(2.0 / chunks + 1e-9);
        }
    }

    @Test
    void aDeadlineAlreadyPastReadsTheFewestAndOneFarOffReadsThemAll() throws IOException {
        OneRun few = new OneRun(0, 64L << 20);
        GuestProbe.zeroShare(few, RAM, System.nanoTime() - 1);
        assertThat(few.reads).isEqualTo(GuestProbe.MIN_ZERO_SAMPLES);
        OneRun all = new OneRun(0, 64L << 20);
        GuestProbe.zeroShare(all, RAM, System.nanoTime() + 3_600_000_000_000L);
        assertThat(all.reads).isEqualTo(GuestProbe.ZERO_SAMPLES);
    }

    @Test
    void allZeroAndAllDataAreReadExactly() throws IOException {
        assertThat(GuestProbe.zeroShare(new OneRun(0, 0), RAM, i -> i < 16)).isEqualTo(1.0);
        assertThat(GuestProbe.zeroShare(new OneRun(0, RAM), RAM, i -> i < 16)).isEqualTo(0.0);
    }
}
