package ferry.migration.disk;

import ferry.migration.Plan;
import ferry.migration.Sizes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How a disk's mirror starts, decided from what was measured (pure). In the background mode the
 * mirror copies at its share of the link while the guest's writes only mark blocks dirty: it
 * catches up only if the guest writes slower than that share, and in time only if the copy fits
 * the budget. Otherwise it starts write-blocking: each guest write completes once the target has
 * it, so the guest's writes go at the link's pace but the mirror always gets ready.
 */
public final class MirrorStart {
    /** A guest writing at this share of the mirror's speed or more is taken as never letting it catch up. */
    static final double CATCH_UP_SHARE = 0.8;

    private MirrorStart() {}

    /** @param seconds the time until the mirror is ready, predicted */
    record Choice(boolean writeBlocking, String why, double seconds) {}

    /**
     * Each disk's choice and prediction; the disks share the link equally, as their mirrors do.
     *
     * @param writes the guest's write rate per drive (bytes/s), measured
     */
    public static List<Plan.DiskPrediction> predict(List<LocalDisk> disks, Map<String, Double> writes, double linkBytesPerS,
                                                    String mode, long budgetMs) {
        List<Plan.DiskPrediction> out = new ArrayList<>();
        for (LocalDisk d : disks) {
            long speed = (long) linkBytesPerS / disks.size();
            double w = writes.getOrDefault(d.drive(), 0.0);
            Choice c = choose(mode, d.virtualSize(), w, speed, budgetMs);
            out.add(new Plan.DiskPrediction(d.label(), d.volumeName(), d.virtualSize(), w,
                    c.writeBlocking() ? "write-blocking" : "background", c.seconds(), c.why()));
        }
        return out;
    }

    /**
     * @param bytes         what the mirror copies first (the disk's virtual size: zeros are written too)
     * @param writesPerS    the guest's write rate on this disk, bytes/s
     * @param speedPerS     the mirror's share of the link, bytes/s
     * @param budgetMs      the time the whole migration may take
     */
    static Choice choose(long bytes, double writesPerS, long speedPerS, long budgetMs) {
        return choose("auto", bytes, writesPerS, speedPerS, budgetMs);
    }

    /** As {@link #choose(long, double, long, long)}, unless {@code mode} (from --mirror-mode) fixes it. */
    static Choice choose(String mode, long bytes, double writesPerS, long speedPerS, long budgetMs) {
        String rates = "guest writes " + Sizes.bytes((long) writesPerS) + "/s, mirror " + Sizes.bytes(speedPerS) + "/s";
        // write-blocking: the copy takes the whole share; the guest's writes wait for the link
        double blocking = (double) bytes / speedPerS;
        if (mode.equals("write-blocking")) {
            return new Choice(true, rates + ": write-blocking from the start, as asked (--mirror-mode)", blocking);
        }
        if (mode.equals("background")) {
            double s = writesPerS < speedPerS ? bytes / (speedPerS - writesPerS) : Double.POSITIVE_INFINITY;
            return new Choice(false, rates + ": background copy until ready, as asked (--mirror-mode)"
                    + (writesPerS >= CATCH_UP_SHARE * speedPerS ? "; it may never catch up" : ""), s);
        }
        if (writesPerS >= CATCH_UP_SHARE * speedPerS) {
            return new Choice(true, rates + ": a background mirror would never catch up; write-blocking from the start"
                    + " (the guest's writes go at the link's pace)", blocking);
        }
        double seconds = bytes / (speedPerS - writesPerS);
        if (seconds * 1000 > CATCH_UP_SHARE * budgetMs) {
            return new Choice(true, String.format("%s: a background mirror would need %.0f s of the %d s budget; "
                    + "write-blocking from the start (the guest's writes go at the link's pace)", rates, seconds,
                    budgetMs / 1000), blocking);
        }
        return new Choice(false, String.format("%s: background copy, about %.1f s, then write-blocking", rates, seconds),
                seconds);
    }
}
