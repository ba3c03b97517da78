package ferry.migration.policy;

import ferry.migration.Plan;
import java.util.Locale;

/**
 * The budget policy's escalation order as a pure decision over what phase 2 observed: raise the
 * downtime within the budget → throttle the guest → switch to postcopy → pause and finish →
 * abort. Each decision carries the numbers that caused it, for the task log.
 */
public final class Escalation {
    /** What the user allows. */
    public record Budget(long maxDowntimeMs, long maxDurationMs, boolean allowThrottle, boolean allowPostcopy,
                         boolean allowPause) {}

    /**
     * Nothing left to try is not yet a reason to give up: one noisy pass must not end a migration
     * with most of its time left. Pre-copy is given up early only once it has been stuck this
     * long (or a quarter of the time limit, if longer); else at the time limit.
     */
    public static final long MIN_STALL_MS = 15_000;

    /**
     * One judgement's view of a running pre-copy migration: the rates smoothed over the last passes
     * (see {@link RateTrend}) and what has been applied so far.
     *
     * @param shrinkRatio    what each recent pass left over what it found (NaN when not seen yet)
     * @param stalledMs      how long every judgement has found pre-copy stuck with nothing left to try
     *                       (0 when the previous one did not)
     * @param priorEvidence  how many judgements in a row before this one found pre-copy not converging
     * @param plannedStuck   the pre-flight plan predicted that pre-copy alone misses the budget, or that
     *                       postcopy pays (see {@link Plan#postcopyPays})
     */
    public record Observation(long elapsedMs, long remainingBytes, double dirtyBytesPerS, double linkBytesPerS,
                              double shrinkRatio, long downtimeLimitMs, int throttlePercent, int maxThrottlePercent,
                              boolean postcopyActive, long stalledMs, int priorEvidence, boolean plannedStuck) {
        /** The downtime if QEMU stopped the guest now. */
        public double expectedDowntimeMs() {
            return remainingBytes / Math.max(1.0, linkBytesPerS) * 1000;
        }

        /**
         * How long pre-copy needs until what is left fits {@code downtimeMs}: each pass sends what
         * the previous one left, while the guest dirties a share r of it again — dirty/link by the
         * rates, or what the passes were seen to leave, whichever is worse. Infinite at r ≥ 1.
         */
        public double projectedMs(long downtimeMs) {
            double link = Math.max(1.0, linkBytesPerS);
            double fits = downtimeMs / 1000.0 * link;
            if (remainingBytes <= fits) {
                return 0;
            }
            double r = Double.isNaN(shrinkRatio) ? dirtyBytesPerS / link : Math.max(dirtyBytesPerS / link, shrinkRatio);
            if (r >= 1) {
                return Double.POSITIVE_INFINITY;
            }
            int passes = r <= 0 ? 1 : (int) Math.ceil(Math.log(fits / remainingBytes) / Math.log(r));
            return remainingBytes / link * (1 - Math.pow(r, passes)) / (1 - r) * 1000;
        }
    }

    /**
     * When the plan foresaw that postcopy pays, pre-copy projected to need more than this many times
     * postcopy's time is not waited for ({@link Plan#POSTCOPY_PAYS_FACTOR} without the plan).
     */
    public static final double PLANNED_POSTCOPY_PAYS_FACTOR = 1.5;

    /** Judgements in a row that must find pre-copy stuck before a step that cannot be undone. */
    public static final int EVIDENCE_PASSES = 2;

    /** What to do next. */
    public sealed interface Decision {
        String reason();
    }

    public record Wait(String reason) implements Decision {}

    /** Pre-copy is stuck and nothing is left to try, but not for long enough to give up. */
    public record Stalled(String reason) implements Decision {}

    public record SetDowntime(long downtimeMs, String reason) implements Decision {}

    public record Throttle(String reason) implements Decision {}

    public record StartPostcopy(String reason) implements Decision {}

    public record PauseAndFinish(String reason) implements Decision {}

    public record Abort(String reason) implements Decision {}

    private Escalation() {}

    public static Decision decide(Budget budget, Observation o) {
        if (o.postcopyActive()) {
            return new Wait("postcopy is active: the target runs the guest and pulls the rest");
        }
        double expected = o.expectedDowntimeMs();
        double ratio = o.dirtyBytesPerS() / Math.max(1.0, o.linkBytesPerS());
        boolean overTime = o.elapsedMs() > budget.maxDurationMs();
        long leftMs = Math.max(0, budget.maxDurationMs() - o.elapsedMs());
        double projected = o.projectedMs(budget.maxDowntimeMs());
        String numbers = String.format(Locale.ROOT, "expected downtime %.0f ms, dirty rate %.1f MiB/s = %.0f%% of the "
                + "link's %.1f MiB/s, %d s of %d s used", expected, o.dirtyBytesPerS() / 1048576, ratio * 100,
                o.linkBytesPerS() / 1048576, o.elapsedMs() / 1000, budget.maxDurationMs() / 1000);
        if (!overTime && expected <= o.downtimeLimitMs()) {
            return new Wait("switch-over fits the downtime limit of " + o.downtimeLimitMs() + " ms: " + numbers);
        }
        if (!overTime && expected <= budget.maxDowntimeMs()) {
            long raise = Math.min(budget.maxDowntimeMs(), (long) Math.ceil(expected * 1.1));
            return new SetDowntime(raise, "raising the downtime limit to " + raise + " ms, within the budget of "
                    + budget.maxDowntimeMs() + " ms: " + numbers);
        }
        // postcopy would pull what is left once; pre-copy sends it again each pass while the guest dirties it
        double postcopyMs = o.remainingBytes() / Math.max(1.0, o.linkBytesPerS()) * 1000;
        // a plan that foresaw it tips the balance sooner: QEMU counts each page once a pass, so after
        // the first one a guest rewriting a small working set looks slower than it writes
        boolean postcopyPays = budget.allowPostcopy() && projected > postcopyMs
                * (o.plannedStuck() ? PLANNED_POSTCOPY_PAYS_FACTOR : Plan.POSTCOPY_PAYS_FACTOR);
        if (!overTime && projected <= leftMs && !postcopyPays) {
            return new Wait(String.format(Locale.ROOT, "converging: at these rates the switch-over fits in about "
                    + "%.1f s of the %d s left: %s", projected / 1000, leftMs / 1000, numbers));
        }
        String why = overTime ? "the time budget is spent" : projected > leftMs ? "pre-copy cannot meet the "
                + "downtime budget of " + budget.maxDowntimeMs() + " ms in the time left"
                : String.format(Locale.ROOT, "postcopy pays: pre-copy needs about %.1f s more at these rates, "
                        + "postcopy about %.1f s", projected / 1000, postcopyMs / 1000);
        int evidence = o.priorEvidence() + 1;
        // one noisy pass decides nothing that cannot be undone; a plan that foresaw it is a second witness
        boolean proven = overTime || evidence >= EVIDENCE_PASSES || o.plannedStuck();
        String witnesses = overTime ? "" : o.plannedStuck() && evidence < EVIDENCE_PASSES
                ? " (as the plan predicted)" : " (" + evidence + " passes in a row)";
        if (budget.allowPostcopy() && proven) {
            return new StartPostcopy("switching to postcopy, " + why + witnesses + ": " + numbers);
        }
        if (!overTime && budget.allowThrottle() && !budget.allowPostcopy() && o.throttlePercent() < o.maxThrottlePercent()) {
            return new Throttle("throttling the guest (now " + o.throttlePercent() + "%, up to "
                    + o.maxThrottlePercent() + "%): " + numbers);
        }
        if (!proven) {
            return new Stalled("not converging on one pass of evidence; judging again on the next before anything "
                    + "that cannot be undone: " + numbers);
        }
        if (budget.allowPause()) {
            return new PauseAndFinish("pausing the guest to finish, " + why + witnesses + ": " + numbers);
        }
        long grace = Math.min(budget.maxDurationMs(), Math.max(MIN_STALL_MS, budget.maxDurationMs() / 4));
        if (!overTime && o.stalledMs() < grace) {
            return new Stalled("not converging, and nothing more is allowed; judging again each pass, giving up if "
                    + "it stays so for " + grace / 1000 + " s (" + o.stalledMs() / 1000 + " s so far): " + numbers);
        }
        return new Abort(why + " and neither postcopy nor pausing is allowed: " + numbers);
    }
}
