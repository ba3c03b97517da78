package ferry.migration;

import com.fasterxml.jackson.annotation.JsonProperty;
import ferry.migration.recovery.JournalState;
import java.util.List;

/**
 * How a migration ended. {@code problems} lists what is left to repair when it finished with
 * problems (after ownership moved, nothing is rolled back).
 *
 * @param prediction     what the planner expected before the stream started (null for offline migrations)
 * @param passes         QEMU's dirty-sync count at the end
 * @param maxThrottlePercent the highest auto-converge throttle seen
 * @param pausedByFerryMs how long the guest was paused by the pause-and-finish step, 0 if never
 * @param disks          the local disks mirrored live, empty when none was
 * @param tls            the streams (RAM, NBD) went over QEMU's TLS; false for plain TCP, an offline
 *                       migration, or an end resolved from the journal
 */
public record MigrationResult(Status status, int vmid, String source, String target, boolean online, long durationMs,
                              Long qemuTotalMs, Long downtimeMs, Long transferredBytes, String policy, String error,
                              List<String> problems, List<String> log, Plan.Prediction prediction, Long passes,
                              Integer maxThrottlePercent, long pausedByFerryMs, boolean postcopy,
                              List<Disk> disks, boolean tls) {
    /**
     * Wall time that is not QEMU's stream: preparation, the plan's sample, disk mirrors, the
     * hand-over. Null when QEMU's total is not known.
     */
    @JsonProperty
    public Long overheadMs() {
        return qemuTotalMs == null ? null : Math.max(0, durationMs - qemuTotalMs);
    }

    /** One mirrored disk: bytes the mirror copied, seconds it ran, the copy mode it ended in. */
    public record Disk(String name, long bytes, double seconds, String mode) {}

    /**
     * COMPLETED: moved. NOT_CONVERGED: the time limit passed before pre-copy converged, the VM still
     * runs on the source. ABORTED: the budget policy found no allowed way to finish in budget.
     * FAILED / CANCELLED: stopped by an error or the user; the VM is where it was. PROBLEMS: the
     * migration ended, with repairs left (the log says which). HANDOVER_PENDING: the target did not
     * answer at the hand-over; the source waits paused and the agent finishes it when it can.
     */
    public enum Status {
        COMPLETED, NOT_CONVERGED, ABORTED, FAILED, CANCELLED, PROBLEMS, HANDOVER_PENDING;

        /** The name the journal, the task status and the CLI use: completed, not-converged, ... */
        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** The end of a migration resolved from its journal (after a restart): QEMU's figures are gone with the old task. */
    static MigrationResult recovered(Status status, JournalState j, long durationMs, String error, List<String> problems,
                                     List<String> log) {
        return new MigrationResult(status, j.vmid(), j.source(), j.target(), j.online(), durationMs, null, null, null,
                null, error, List.copyOf(problems), log, null, null, null, 0, false, List.of(), false);
    }
}
