package ferry.cli;

import java.util.List;
import java.util.Objects;

/**
 * One benchmark run: one migration of one scenario under one convergence policy.
 *
 * @param scenario           the workload, e.g. "idle" or "memory-stress"
 * @param policy             the convergence policy, e.g. "qemu-default", "classic", "kubevirt", "ovirt", "budget"
 * @param repetition         1-based repetition number within (scenario, policy)
 * @param outcome            one of {@link #COMPLETED}, {@link #NOT_CONVERGED}, {@link #ABORTED}, {@link #FAILED}
 * @param downtimeMs         the downtime QEMU reported; null if the migration did not complete
 * @param maxDowntimeMs      the downtime budget that was asked for
 * @param totalMs            wall-clock time from start to end (or to giving up)
 * @param guestPauseMs       the longest pause the guest itself observed; null if unknown
 * @param transferredBytes   bytes sent over the wire; null if unknown
 * @param passes             RAM passes (dirty-sync count); null if unknown
 * @param maxThrottlePercent highest CPU throttle applied; null if unknown
 * @param floorMs            the physical floor: guest RAM / bandwidth, the best any policy could do; 0 if unknown
 * @param note               free text, e.g. why a run failed; may be null
 * @param samples            remaining-bytes progress over time, in the order taken; never null
 * @param predicted          what the planner expected for this policy before the stream started; null if it made no plan
 * @param overheadMs         the migration's wall time less QEMU's total time; null if QEMU's is unknown
 * @param guestWork          what the migration cost the guest (see {@link GuestWork}); null if unknown
 * @param log                the migration's task log, kept so an odd run can be explained afterwards; never null
 */
record BenchRun(String scenario, String policy, int repetition, String outcome,
                Long downtimeMs, long maxDowntimeMs,
                long totalMs, Long guestPauseMs, Long transferredBytes,
                Long passes, Integer maxThrottlePercent, long floorMs, String note,
                List<Sample> samples, Prediction predicted, Long overheadMs, Work guestWork, List<String> log) {

    /** The planner's view: converges within the policy's limits, and the time it expected QEMU to take. */
    record Prediction(boolean converges, long totalMs) {}

    /**
     * Work the guest did during the migration ÷ its rate before × the duration: in the stressor's
     * slices ({@code ratio}), and in the MiB it dirtied ({@code dirtyRatio}, which its catching up
     * inflates). Either may be null.
     */
    record Work(Double ratio, Double dirtyRatio) {}

    /** A run without a prediction, overhead or guest-work figure. */
    BenchRun(String scenario, String policy, int repetition, String outcome, Long downtimeMs, long maxDowntimeMs,
             long totalMs, Long guestPauseMs, Long transferredBytes, Long passes, Integer maxThrottlePercent,
             long floorMs, String note, List<Sample> samples) {
        this(scenario, policy, repetition, outcome, downtimeMs, maxDowntimeMs, totalMs, guestPauseMs, transferredBytes,
                passes, maxThrottlePercent, floorMs, note, samples, null, null, null, List.of());
    }

    static final String COMPLETED = "completed";
    static final String NOT_CONVERGED = "not-converged";
    static final String ABORTED = "aborted";
    static final String FAILED = "failed";

    /** One progress point: {@code atMs} since the migration started, {@code remainingBytes} still to send. */
    record Sample(long atMs, long remainingBytes) {}

    BenchRun {
        Objects.requireNonNull(scenario, "scenario");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(outcome, "outcome");
        // Copy so a caller that keeps filling its list cannot change a run after the fact; null means "none taken".
        samples = samples == null ? List.of() : List.copyOf(samples);
        log = log == null ? List.of() : List.copyOf(log);
    }

    boolean completed() {
        return COMPLETED.equals(outcome);
    }

    /** True if the run completed and QEMU's downtime stayed within the budget asked for. */
    boolean metBudget() {
        return completed() && downtimeMs != null && downtimeMs <= maxDowntimeMs;
    }
}
