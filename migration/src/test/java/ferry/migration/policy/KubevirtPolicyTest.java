package ferry.migration.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ferry.migration.MigrationRequest;
import ferry.migration.Plan;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The KubeVirt emulation fed with recorded polls: its two watchdogs, and nothing else. */
class KubevirtPolicyTest {
    private static final long MIB = 1 << 20;

    private static KubevirtPolicy policy(int memoryMiB, Integer maxDurationS) {
        return new KubevirtPolicy(new Policies.Context(memoryMiB, 1, 32 * MIB, null, 60_000,
                new MigrationRequest.Limits(maxDurationS, true, true, true, null), Set.of(), Set.of(), false));
    }

    private static ConvergencePolicy.Sample poll(long elapsedMs, long pass, long remainingMiB) {
        return new ConvergencePolicy.Sample(elapsedMs, "active", 0, remainingMiB * MIB, 256 * MIB, 32.0 * MIB,
                48.0 * MIB, pass, 0, 0, 300);
    }

    @Test
    void theCompletionTimeoutIs150sPerStartedDecimalGigabyte() {
        assertThat(KubevirtPolicy.completionTimeoutMs(256 * MIB)).isEqualTo(150_000);
        assertThat(KubevirtPolicy.completionTimeoutMs(1_000_000_000L)).isEqualTo(150_000);
        assertThat(KubevirtPolicy.completionTimeoutMs(1024 * MIB)).as("1 GiB is more than 1 GB").isEqualTo(300_000);
        assertThat(KubevirtPolicy.completionTimeoutMs(4096 * MIB)).isEqualTo(750_000);
    }

    @Test
    void setsQemusDefaultDowntimeAndNeitherThrottleNorPostcopyEvenWhenAllowed() {
        ConvergencePolicy.Setup s = policy(256, null).setup();
        assertThat(s.capabilities()).containsExactly(java.util.Map.entry("events", true));
        assertThat(s.parameters().path("downtime-limit").asLong()).isEqualTo(300);
        assertThat(s.parameters().path("max-bandwidth").asLong()).isEqualTo(32 * MIB);
        assertThat(s.summary()).contains("emulation of KubeVirt", "abort after 150 s", "150 s without progress");
    }

    @Test
    void aMigrationThatKeepsShrinkingRunsUntilTheCompletionTimeoutAndIsAbortedThere() {
        RecordingControl c = new RecordingControl();
        KubevirtPolicy p = policy(256, null);
        long remaining = 200;
        long at = 0;
        for (; at <= 150_000; at += 2000) {
            p.step(poll(at, at / 2000 + 1, remaining), c);
            remaining = Math.max(1, remaining - 1); // a new low now and then: progress
        }
        assertThat(c.actions).as("nothing before the timeout, well past Ferry's default 60 s").isEmpty();
        assertThatThrownBy(() -> p.step(poll(150_001, 80, 1), c)).isInstanceOf(RecordingControl.Stopped.class);
        assertThat(c.actions).containsExactly("stop ABORTED");
        assertThat(c.log.getLast()).contains("not completed after 150 s", "completionTimeoutPerGiB");
    }

    @Test
    void remainingDataThatNeverFallsFor150sAbortsBeforeTheCompletionTimeoutOfABigGuest() {
        RecordingControl c = new RecordingControl();
        KubevirtPolicy p = policy(4096, null); // 750 s to complete
        p.step(poll(0, 1, 4000), c);
        p.step(poll(10_000, 1, 60), c); // the last fall: to 60 MiB at 10 s
        for (long at = 12_000; at <= 160_000; at += 2000) {
            p.step(poll(at, at / 2000, 60 + at / 2000), c); // a stream that is stuck: it only grows
        }
        assertThat(c.actions).isEmpty();
        assertThatThrownBy(() -> p.step(poll(160_001, 81, 200), c)).isInstanceOf(RecordingControl.Stopped.class);
        assertThat(c.actions).containsExactly("stop ABORTED");
        assertThat(c.log.getLast()).contains("no progress for 150 s", "since 10.0 s", "progressTimeout");
    }

    @Test
    void passesThatRiseAndFallAreProgressEvenWithoutANewLow() {
        // as KubeVirt reads it today: a fall between two looks is progress, however high the pass starts
        RecordingControl c = new RecordingControl();
        KubevirtPolicy p = policy(4096, null);
        for (long at = 0; at <= 300_000; at += 2000) {
            p.step(poll(at, at / 4000, 60 + at / 2000 % 2 * 10), c); // 70, 60, 70, 60, ...
        }
        assertThat(c.actions).isEmpty();
    }

    @Test
    void localDisksInThePlanCountInTheDataToMove() {
        Plan plan = new Plan(new Plan.Inputs(256L << 20, 0.5, 0, 128L << 20, 32 * MIB, "limit", 300, 60_000, false,
                false, false), java.util.List.of(), "budget", "", java.util.List.of(new Plan.DiskPrediction("virtio0",
                "vm-1-disk-0.raw", 2_000_000_000L, 0, "background", 60, "")));
        RecordingControl c = new RecordingControl();
        KubevirtPolicy p = policy(256, null);
        p.planned(plan);
        p.step(poll(150_001, 80, 50), c); // 256 MiB + 2 GB: 3 GB, 450 s
        assertThat(c.actions).isEmpty();
        assertThat(c.log).containsExactly("kubevirt: with the local disks, the completion timeout is 450 s");
        assertThatThrownBy(() -> p.step(poll(450_001, 200, 40), c)).isInstanceOf(RecordingControl.Stopped.class);
        assertThat(c.actions).containsExactly("stop ABORTED");
    }

    @Test
    void aTimeLimitTheUserGaveStillEndsItAsNotConverged() {
        RecordingControl c = new RecordingControl();
        KubevirtPolicy p = policy(256, 60);
        p.step(poll(59_000, 20, 60), c);
        assertThatThrownBy(() -> p.step(poll(60_001, 21, 60), c)).isInstanceOf(RecordingControl.Stopped.class);
        assertThat(c.actions).containsExactly("stop NOT_CONVERGED");
    }
}
