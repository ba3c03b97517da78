package ferry.cli.libvirt;

import java.util.Locale;

/**
 * A finished migration as {@code virsh domjobinfo --completed} reports it on the source: QEMU's
 * time, the guest's downtime, the bytes sent, the passes and the pages the target asked for in
 * postcopy. Read from virsh's text (its only output form for job statistics).
 */
public record VirshJob(String type, Long elapsedMs, Long downtimeMs, Long processedBytes, Long iterations,
                       Long postcopyRequests) {

    public static VirshJob parse(String text) {
        String type = null;
        Long elapsed = null;
        Long downtime = null;
        Long processed = null;
        Long iterations = null;
        Long requests = null;
        for (String line : text.lines().toList()) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).strip();
            String value = line.substring(colon + 1).strip();
            switch (key) {
                case "Job type" -> type = value;
                case "Time elapsed" -> elapsed = number(value);
                case "Total downtime" -> downtime = number(value);
                case "Data processed" -> processed = bytes(value);
                case "Iteration" -> iterations = number(value);
                case "Postcopy requests" -> requests = number(value);
                default -> { }
            }
        }
        return new VirshJob(type, elapsed, downtime, processed, iterations, requests);
    }

    public boolean completed() {
        return "Completed".equals(type);
    }

    /** The leading integer of e.g. {@code 5092         ms}. */
    private static Long number(String value) {
        String n = value.split("\\s+")[0];
        try {
            return Long.parseLong(n);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** e.g. {@code 194.173 MiB}: virsh prints binary units with three decimals. */
    static Long bytes(String value) {
        String[] f = value.split("\\s+");
        if (f.length < 2) {
            return null;
        }
        double n;
        try {
            n = Double.parseDouble(f[0]);
        } catch (NumberFormatException e) {
            return null;
        }
        int shift = switch (f[1].toUpperCase(Locale.ROOT)) {
            case "B" -> 0;
            case "KIB" -> 10;
            case "MIB" -> 20;
            case "GIB" -> 30;
            case "TIB" -> 40;
            default -> -1;
        };
        return shift < 0 ? null : Math.round(n * (1L << shift));
    }
}
