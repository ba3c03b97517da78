package ferry.migration.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ferry.migration.MigrationRequest;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The oVirt emulation fed with recorded polls: VDSM's looks, its pass count, one step per look. */
class OvirtPolicyTest {
    private static final long MIB = 1 << 20;

    private static OvirtPolicy policy(Integer maxDurationS) {
        long limitMs = maxDurationS == null ? 60_000 : maxDurationS * 1000L;
        return new OvirtPolicy(new Policies.Context(256, 1, 32 * MIB, null, limitMs,
                new MigrationRequest.Limits(maxDurationS, false, false, false, null), Set.of(), Set.of(), false),
                OvirtPolicy.MONITOR_INTERVAL_MS);
    }

    private static ConvergencePolicy.Sample poll(long elapsedMs, long pass, long remainingMiB) {
        return new ConvergencePolicy.Sample(elapsedMs, "active", 0, remainingMiB * MIB, 256 * MIB, 32.0 * MIB,
                48.0 * MIB, pass, 40, 0, 100);
    }

    @Test
    void startsAt100MsWithAutoConverge() {
        ConvergencePolicy.Setup s = policy(null).setup();
        assertThat(s.capabilities()).containsEntry("auto-converge", true).doesNotContainKey("postcopy-ram");
        assertThat(s.parameters().path("downtime-limit").asLong()).isEqualTo(100);
        assertThat(s.summary()).contains("Minimal downtime", "150/200/300/400/500", "every 10 s");
    }

    /** Passes of ~2 s (S3: 64 MiB behind 32 MiB/s), polled every 2 s as phase 2 does; VDSM looks every 10 s. */
    @Test
    void theScheduleGoesOneStepPerLookThatSawNewPassesThenAborts() {
        RecordingControl c = new RecordingControl();
        OvirtPolicy p = policy(null);
        long at = 0;
        try {
            for (; at <= 200_000; at += 2000) {
                p.step(poll(at, 1 + at / 2000, 64), c);
            }
        } catch (RecordingControl.Stopped stopped) {
            // the abort
        }
        assertThat(c.actions).containsExactly("downtime 150", "downtime 200", "downtime 300", "downtime 400",
                "downtime 500", "stop ABORTED");
        // first look at 10 s records the pass; the steps come at 20, 30, 40, 50, 60 s; the abort at 70 s
        assertThat(at).isEqualTo(70_000);
        assertThat(c.log).anyMatch(l -> l.startsWith("ovirt: 5 passes since the first look (more than 1): "
                + "downtime limit 150"));
        assertThat(c.log.getLast()).contains("whole Minimal downtime schedule", "aborted, as VDSM does");
        // the remaining data never fell: VDSM only logs that it stalls
        assertThat(c.log).anyMatch(l -> l.contains("stalling: 64.0 MiB remaining"));
    }

    @Test
    void longPassesMoveTheScheduleOnlyOnceItsCountIsPassed() {
        // a pass every 25 s: a look sees one new pass at most, so each step waits for its count
        RecordingControl c = new RecordingControl();
        OvirtPolicy p = policy(null);
        for (long at = 0; at <= 70_000; at += 2000) {
            p.step(poll(at, 1 + at / 25_000, 64 - at / 2000), c);
        }
        // first look at 10 s: pass 1; at 30 s pass 2 (count 1, not more than 1); at 50 s pass 3: the first step
        assertThat(c.actions).containsExactly("downtime 150");
        assertThat(c.log).noneMatch(l -> l.contains("stalling")); // the remaining data kept falling
    }

    @Test
    void noLookSeesAnythingBetweenLooks() {
        RecordingControl c = new RecordingControl();
        OvirtPolicy p = policy(null);
        p.step(poll(10_000, 1, 64), c);
        for (long at = 12_000; at < 20_000; at += 2000) {
            p.step(poll(at, at / 1000, 64), c); // many passes, but before the next look
        }
        assertThat(c.actions).isEmpty();
        p.step(poll(20_000, 20, 64), c);
        assertThat(c.actions).containsExactly("downtime 150");
    }

    @Test
    void aTimeLimitTheUserGaveStillEndsItAsNotConverged() {
        RecordingControl c = new RecordingControl();
        OvirtPolicy p = policy(30);
        assertThatThrownBy(() -> p.step(poll(30_001, 15, 64), c)).isInstanceOf(RecordingControl.Stopped.class);
        assertThat(c.actions).containsExactly("stop NOT_CONVERGED");
    }
}
