package ferry.migration.policy;

import ferry.migration.Migration;
import ferry.migration.Plan;
import ferry.migration.plan.PrecopyModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The planner's view of the peer emulations ({@link KubevirtPolicy}, {@link OvirtPolicy}), from
 * the same measured guest and link as the other strategies. Each follows its peer's own limits,
 * not Ferry's default time limit: KubeVirt's completion timeout, oVirt's schedule.
 */
public final class PeerPlans {
    /** QEMU's auto-converge (migration/ram.c): start at 20%, add 10% per step, at most 99%. */
    static final double THROTTLE_INITIAL = 0.2;
    static final double THROTTLE_STEP = 0.1;
    static final double THROTTLE_MAX = 0.99;
    /** QEMU's throttle-trigger-threshold: a sync is "high" when the guest dirtied more than half of what was sent. */
    static final double TRIGGER_SHARE = 0.5;
    /** The ovirt simulation's bound on passes (a pass each time the schedule or the throttle may change). */
    static final int MAX_SIMULATED_PASSES = 1000;

    private PeerPlans() {}

    /**
     * {@code plan} with the peers' predictions added. A time limit the user gave ({@code explicitLimit})
     * ends them too, as it ends their policies; the plan's own default limit does not.
     */
    public static Plan addTo(Plan plan, boolean explicitLimit) {
        Plan.Inputs in = plan.inputs();
        // the peers count their time from the start, disks included; the RAM's predictions start after the mirrors
        double mirrorS = in.disks().mirrorSeconds();
        double capS = explicitLimit ? in.ramTimeMs() / 1000.0 : Double.POSITIVE_INFINITY;
        List<Plan.Prediction> all = new ArrayList<>(plan.strategies());
        long data = in.ramBytes() + KubevirtPolicy.diskBytes(plan);
        all.add(kubevirt(in, Math.min(capS, KubevirtPolicy.completionTimeoutMs(data) / 1000.0 - mirrorS)));
        all.add(ovirt(in, Long.getLong(Policies.OVIRT_INTERVAL_PROPERTY, OvirtPolicy.MONITOR_INTERVAL_MS), capS));
        return new Plan(in, List.copyOf(all), plan.recommended(), plan.reason(), plan.disks(), plan.policy());
    }

    /** Pre-copy at QEMU's 300 ms until {@code limitS} (the completion timeout): no throttle, no postcopy. */
    static Plan.Prediction kubevirt(Plan.Inputs in, double limitS) {
        PrecopyModel.Prediction p = in.model(in.dirtyBytesPerS()).predict(Plan.QEMU_DEFAULT_DOWNTIME_MS, Plan.MAX_PASSES);
        boolean inTime = p.converges() && p.seconds() <= limitS;
        double seconds = inTime ? p.seconds() : Math.max(0, limitS);
        long bytes = inTime ? p.bytes() : (long) (seconds * in.ramLinkBytesPerS());
        return new Plan.Prediction("kubevirt", inTime, inTime && p.downtimeMs() <= in.maxDowntimeMs(), p.passes(), bytes,
                seconds, p.downtimeMs(), inTime ? "pre-copy at QEMU's 300 ms downtime limit"
                : String.format(Locale.ROOT, "%s: aborted after %.0f s", p.converges() ? "too slow"
                        : "never fits QEMU's 300 ms downtime limit", seconds));
    }

    /**
     * Pass by pass, as QEMU and VDSM would run it: QEMU completes when a pass fits the downtime
     * limit, raises its auto-converge throttle at every second sync whose dirtied bytes exceed half
     * of what the pass sent, and VDSM looks every {@code intervalMs}, taking the schedule's next step
     * when it sees more passes than the step's limit since its first look.
     */
    static Plan.Prediction ovirt(Plan.Inputs in, long intervalMs, double capS) {
        double link = in.ramLinkBytesPerS();
        PrecopyModel m = in.model(in.dirtyBytesPerS());
        double pass = in.nonZeroBytes();
        double t = 0;
        double bytes = 0;
        AutoConverge ac = new AutoConverge();
        long downtime = OvirtPolicy.INITIAL_DOWNTIME_MS;
        double nextLook = intervalMs / 1000.0;
        long firstIteration = -1;
        long lastIteration = 0;
        int next = 0;
        for (int n = 1; n <= MAX_SIMULATED_PASSES; n++) {
            double seconds = pass / link;
            if (t + seconds > capS) {
                return new Plan.Prediction("ovirt", false, false, n, (long) (bytes + (capS - t) * link), capS,
                        pass / link * 1000, String.format(Locale.ROOT, "not converged within the %.0f s asked for", capS));
            }
            if (pass <= link * downtime / 1000.0) {
                bytes += pass;
                t += seconds;
                return new Plan.Prediction("ovirt", true, seconds * 1000 <= in.maxDowntimeMs(), n, (long) bytes, t,
                        seconds * 1000, String.format(Locale.ROOT, "converges at a downtime limit of %d ms%s", downtime,
                        ac.throttle > 0 ? String.format(Locale.ROOT, ", the guest throttled to %.0f%%", (1 - ac.throttle) * 100)
                                : ""));
            }
            // VDSM's looks during this pass see QEMU's dirty-sync count n
            while (nextLook <= t + seconds) {
                if (firstIteration < 0) {
                    firstIteration = n;
                    lastIteration = n;
                } else if (n > lastIteration) {
                    lastIteration = n;
                    OvirtPolicy.Step step = next < OvirtPolicy.SCHEDULE.size() ? OvirtPolicy.SCHEDULE.get(next) : null;
                    if (step != null && step.limit() < n - firstIteration) {
                        next++;
                        if (step.aborts()) {
                            double sent = bytes + (nextLook - t) * link;
                            return new Plan.Prediction("ovirt", false, false, n, (long) sent, nextLook,
                                    pass / link * 1000, String.format(Locale.ROOT, "aborted after the Minimal downtime "
                                            + "schedule at %.0f s (downtime limit %d ms, guest throttled to %.0f%%)",
                                    nextLook, downtime, (1 - ac.throttle) * 100));
                        }
                        downtime = step.downtimeMs();
                    }
                }
                nextLook += intervalMs / 1000.0;
            }
            t += seconds;
            bytes += pass;
            double dirtied = ac.dirtiedDuring(in, m, seconds);
            ac.afterPass(dirtied, pass);
            pass = dirtied;
        }
        return new Plan.Prediction("ovirt", false, false, MAX_SIMULATED_PASSES, (long) bytes, t, pass / link * 1000,
                "no pass fits and VDSM never saw the passes it needs to go on with its schedule");
    }

    /**
     * Proxmox's algorithm as {@link ClassicPolicy} runs it, pass by pass: auto-converge throttles as
     * QEMU does, and the downtime limit doubles (up to its cap) about every {@link Plan#CLASSIC_STEP_S}
     * seconds that pre-copy goes on; QEMU completes when a pass fits the limit, or the time limit ends it.
     */
    public static Plan.Prediction classic(Plan.Inputs in) {
        double link = in.ramLinkBytesPerS();
        PrecopyModel m = in.model(in.dirtyBytesPerS());
        double limitS = in.ramTimeMs() / 1000.0;
        double pass = in.nonZeroBytes();
        double t = 0;
        double bytes = 0;
        long downtime = Migration.DEFAULT_DOWNTIME_MS;
        double nextDoubling = Plan.CLASSIC_STEP_S;
        AutoConverge ac = new AutoConverge();
        long cache = StreamSetup.xbzrleCache((int) (in.ramBytes() >> 20));
        for (int n = 1; n <= MAX_SIMULATED_PASSES; n++) {
            // xbzrle starts after the first pass
            double wire = n == 1 ? pass : pass * (1 - xbzrleHits(cache, pass));
            double seconds = wire / link;
            if (wire <= link * downtime / 1000.0) {
                return new Plan.Prediction("classic", true, seconds * 1000 <= in.maxDowntimeMs(), n, (long) (bytes + wire),
                        t + seconds, seconds * 1000, String.format(Locale.ROOT, "converges at a downtime limit of %d ms%s",
                        downtime, ac.throttle > 0 ? String.format(Locale.ROOT, ", the guest throttled to %.0f%%",
                                (1 - ac.throttle) * 100) : ""));
            }
            if (t + seconds > limitS) {
                return new Plan.Prediction("classic", false, false, n, (long) (bytes + (limitS - t) * link), limitS,
                        seconds * 1000, String.format(Locale.ROOT, "not converged within %.0f s (downtime limit %d ms, "
                        + "the guest throttled to %.0f%%)", limitS, downtime, (1 - ac.throttle) * 100));
            }
            t += seconds;
            bytes += wire;
            while (t >= nextDoubling && downtime < Plan.CLASSIC_CAP_MS) {
                downtime = Math.min(Plan.CLASSIC_CAP_MS, downtime * 2);
                nextDoubling += Plan.CLASSIC_STEP_S;
            }
            double dirtied = ac.dirtiedDuring(in, m, seconds);
            ac.afterPass(dirtied, wire);
            pass = dirtied;
        }
        return new Plan.Prediction("classic", false, false, MAX_SIMULATED_PASSES, (long) bytes, t, pass / link * 1000,
                "no pass fits the downtime limit");
    }

    /**
     * The share of a pass's pages that xbzrle sends as a difference against the copy in its cache,
     * for a guest that changes a few bytes of each page it writes (the bench's stressor stamps one
     * word a page; a guest that rewrites whole pages gains nothing). QEMU's cache keeps one page per
     * slot, by the page's number modulo the slots, so a pass of more pages than slots finds each
     * slot holding the last of the pages that share it: (slots/pages)·(1 − e^(−pages/slots)) of
     * them. Classic on S3 (a 16 MiB cache, a 64 MiB set): 25%; its passes took 1.5 s, not 2.
     */
    static double xbzrleHits(long cacheBytes, double passBytes) {
        if (passBytes <= 0) {
            return 0;
        }
        double load = passBytes / Math.max(1, cacheBytes);
        return (1 - Math.exp(-load)) / load;
    }

    /** QEMU's auto-converge: every second sync whose dirtied bytes exceed half of what the pass sent raises the throttle. */
    private static final class AutoConverge {
        double throttle;

        /** What the guest, held at this throttle, dirties in {@code seconds}: at most its working set. */
        double dirtiedDuring(Plan.Inputs in, PrecopyModel m, double seconds) {
            return Math.min(m.workingSetBytes(), in.dirtyBytesPerS() * PrecopyModel.keptUnderThrottle(throttle) * seconds);
        }
        private int high;

        void afterPass(double dirtied, double sent) {
            if (dirtied > TRIGGER_SHARE * sent && ++high >= 2) {
                high = 0;
                throttle = throttle == 0 ? THROTTLE_INITIAL : Math.min(THROTTLE_MAX, throttle + THROTTLE_STEP);
            }
        }
    }
}
