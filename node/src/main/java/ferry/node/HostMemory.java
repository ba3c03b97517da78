package ferry.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The host's memory as the kernel counts it ({@code /proc/meminfo}): what a new VM could get
 * without pushing others into swap is {@code MemAvailable} (free memory plus the page cache the
 * kernel can drop), not {@code MemFree}.
 *
 * @param totalBytes     MemTotal
 * @param availableBytes MemAvailable
 */
public record HostMemory(long totalBytes, long availableBytes) {
    private static final Path MEMINFO = Path.of("/proc/meminfo");

    /** This host's memory now; throws {@link NodeException} where /proc/meminfo cannot be read. */
    public static HostMemory now() {
        try {
            return parse(Files.readString(MEMINFO));
        } catch (IOException e) {
            throw new NodeException("cannot read " + MEMINFO + ": " + e.getMessage());
        }
    }

    /** Reads the text of {@code /proc/meminfo} (values in kB). */
    static HostMemory parse(String meminfo) {
        long total = -1;
        long available = -1;
        for (String line : meminfo.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 2 && f[0].equals("MemTotal:")) {
                total = Long.parseLong(f[1]) * 1024;
            } else if (f.length >= 2 && f[0].equals("MemAvailable:")) {
                available = Long.parseLong(f[1]) * 1024;
            }
        }
        if (total < 0 || available < 0) {
            throw new NodeException("/proc/meminfo lacks MemTotal or MemAvailable (a kernel older than 3.14?)");
        }
        return new HostMemory(total, available);
    }
}
