package ferry.migration.policy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.MigrationResult;
import ferry.migration.Plan;
import java.time.Duration;
import java.util.Map;

/**
 * How phase 2 steers QEMU towards convergence: what it enables before the stream starts, and
 * what it changes while pre-copy runs. One implementation per {@code --policy}.
 */
public interface ConvergencePolicy {
    String name();

    /** Capabilities and parameters, set before {@code migrate}. */
    Setup setup();

    /**
     * The pre-flight plan, when one was made: before the stream starts where something is sized by
     * it, else as soon as its sample ends, usually during the first pass. A first pass shorter than
     * the sample has its later passes' {@link #step}s without it.
     */
    default void planned(Plan plan) {}

    /** Called after every poll of a pre-copy migration; acts through {@code control}. */
    void step(Sample s, Control control);

    /**
     * Whether a new pass (QEMU's MIGRATION_PASS event) should bring the next poll at once. A
     * policy that judges each pass on its first sample wants that sample at the pass's start,
     * before the pass has sent what a switch would make it send again; one that counts polls
     * keeps its cadence.
     */
    default boolean pollsAtEachPass() {
        return false;
    }

    /**
     * How soon after the last {@link #step} the policy wants the next poll, when sooner than the
     * monitor's interval (e.g. near a point where it acts); null for no wish.
     */
    default Duration pollWithin() {
        return null;
    }

    /**
     * @param capabilities wire name → on/off, set on the source; the ones that are on and that
     *                     QEMU needs on both ends are set on the target as well
     * @param parameters   {@code migrate-set-parameters} arguments for the source
     * @param summary      one log line that says what was chosen
     */
    record Setup(Map<String, Boolean> capabilities, ObjectNode parameters, String summary) {}

    /** One poll of {@code query-migrate}, with rates derived from QEMU's counters. */
    record Sample(long elapsedMs, String status, long transferred, long remaining, long total, double linkBytesPerS,
                  double dirtyBytesPerS, long pass, int throttlePercent, long expectedDowntimeMs, long downtimeLimitMs) {}

    /** What a policy may do to a running migration. */
    interface Control {
        void setDowntime(long ms, String reason);

        /** Changes one {@code migrate-set-parameters} value while the migration runs. */
        void setParameter(String name, long value, String reason);

        void startPostcopy(String reason);

        void pauseGuest(String reason);

        /** Ends the migration with {@code outcome}; the VM stays where it is. Does not return. */
        void stop(MigrationResult.Status outcome, String reason);

        void log(String format, Object... args);
    }
}
