package ferry.migration.disk;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** Copies a stream at no more than a given rate (MiB/s; null for unlimited), as the seed's bwlimit. */
public final class ThrottledCopy {
    private static final int CHUNK = 256 * 1024;

    private ThrottledCopy() {}

    /** Returns the bytes copied. */
    public static long copy(InputStream in, OutputStream out, Integer mibPerSecond) throws IOException {
        byte[] buf = new byte[CHUNK];
        long total = 0;
        long start = System.nanoTime();
        int n;
        while ((n = in.read(buf)) >= 0) {
            out.write(buf, 0, n);
            total += n;
            if (mibPerSecond != null && mibPerSecond > 0) {
                long due = (long) (total * 1e9 / ((double) mibPerSecond * 1024 * 1024));
                long ahead = due - (System.nanoTime() - start);
                if (ahead > 0) {
                    try {
                        Thread.sleep(ahead / 1_000_000, (int) (ahead % 1_000_000));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("copy interrupted");
                    }
                }
            }
        }
        out.flush();
        return total;
    }
}
