package ferry.migration.policy;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.migration.policy.Escalation.Budget;
import ferry.migration.policy.Escalation.Observation;
import org.junit.jupiter.api.Test;

/** The escalation order over recorded numbers. */
class EscalationTest {
    private static final double MIB = 1 << 20;
    private static final Budget ALL = new Budget(300, 60_000, true, true, true);
    private static final Budget NOTHING = new Budget(300, 60_000, false, false, false);

    private static Observation obs(long elapsedMs, long remainingMiB, double dirtyMiB, double linkMiB, long downtime,
                                   int throttle) {
        return stalled(elapsedMs, remainingMiB, dirtyMiB, linkMiB, downtime, throttle, 0);
    }

    private static Observation stalled(long elapsedMs, long remainingMiB, double dirtyMiB, double linkMiB, long downtime,
                                       int throttle, long stalledMs) {
        return new Observation(elapsedMs, (long) (remainingMiB * MIB), dirtyMiB * MIB, linkMiB * MIB, Double.NaN,
                downtime, throttle, 99, false, stalledMs, 0, false);
    }

    /** The same observation after {@code prior} judgements in a row found pre-copy stuck. */
    private static Observation again(Observation o, int prior) {
        return new Observation(o.elapsedMs(), o.remainingBytes(), o.dirtyBytesPerS(), o.linkBytesPerS(),
                o.shrinkRatio(), o.downtimeLimitMs(), o.throttlePercent(), o.maxThrottlePercent(), false, o.stalledMs(),
                prior, false);
    }

    private static Observation planned(Observation o) {
        return new Observation(o.elapsedMs(), o.remainingBytes(), o.dirtyBytesPerS(), o.linkBytesPerS(),
                o.shrinkRatio(), o.downtimeLimitMs(), o.throttlePercent(), o.maxThrottlePercent(), false, o.stalledMs(),
                o.priorEvidence(), true);
    }

    @Test
    void waitsWhileTheSwitchOverFits() {
        // 20 MiB at 100 MiB/s = 200 ms <= 300 ms limit
        assertThat(Escalation.decide(ALL, obs(1000, 20, 150, 100, 300, 0))).isInstanceOf(Escalation.Wait.class);
    }

    @Test
    void raisesTheDowntimeOnlyWithinTheBudget() {
        // 25 MiB at 100 MiB/s = 250 ms > 100 ms limit, <= 300 ms budget: raise to ceil(275) = 275
        var d = Escalation.decide(ALL, obs(1000, 25, 150, 100, 100, 0));
        assertThat(d).isEqualTo(new Escalation.SetDowntime(275, d.reason()));
        assertThat(d.reason()).contains("expected downtime 250 ms").contains("150% of the link");
        // 29 MiB = 290 ms: 1.1x would be 319, capped at the budget
        assertThat(((Escalation.SetDowntime) Escalation.decide(ALL, obs(1000, 29, 150, 100, 100, 0))).downtimeMs())
                .isEqualTo(300);
    }

    @Test
    void escalatesInOrderWhenPrecopyCannotMeetTheBudget() {
        Budget throttleOnly = new Budget(300, 60_000, true, false, false);
        Budget throttleOrPause = new Budget(300, 60_000, true, false, true);
        Observation stuck = obs(5000, 200, 120, 100, 300, 0);
        // throttling is gradual: it may act on one pass
        assertThat(Escalation.decide(throttleOnly, stuck)).isInstanceOf(Escalation.Throttle.class);
        Observation throttledOut = obs(5000, 200, 120, 100, 300, 99);
        // pausing cannot be undone: one pass is not enough, two in a row are
        assertThat(Escalation.decide(throttleOrPause, throttledOut)).isInstanceOf(Escalation.Stalled.class);
        assertThat(Escalation.decide(throttleOrPause, again(throttledOut, 1)))
                .isInstanceOf(Escalation.PauseAndFinish.class);
        Escalation.Decision abort = Escalation.decide(NOTHING, again(stalled(20_000, 200, 120, 100, 300, 0, 15_000), 5));
        assertThat(abort).isInstanceOf(Escalation.Abort.class);
        assertThat(abort.reason()).contains("cannot meet the downtime budget of 300 ms")
                .contains("expected downtime 2000 ms");
    }

    @Test
    void withPostcopyAllowedAStuckPreCopySwitchesInsteadOfThrottling() {
        Observation stuck = obs(5000, 200, 120, 100, 300, 0);
        // no plan: the first judgement waits for a second witness rather than throttle the guest
        assertThat(Escalation.decide(ALL, stuck)).isInstanceOf(Escalation.Stalled.class);
        Escalation.Decision second = Escalation.decide(ALL, again(stuck, 1));
        assertThat(second).isInstanceOf(Escalation.StartPostcopy.class);
        assertThat(second.reason()).contains("2 passes in a row");
        // the plan foresaw it: the first full pass that agrees is enough
        Escalation.Decision early = Escalation.decide(ALL, planned(stuck));
        assertThat(early).isInstanceOf(Escalation.StartPostcopy.class);
        assertThat(early.reason()).contains("as the plan predicted");
    }

    @Test
    void aPlanThatPredictedTroubleDoesNotOverruleAConvergingPass() {
        // the plan said stuck, but the pass shows the guest at 30% of the link: pre-copy needs about
        // 2.6 s more, postcopy 2 s: close enough to spare the guest postcopy's page faults
        assertThat(Escalation.decide(ALL, planned(obs(5000, 200, 30, 100, 300, 0)))).isInstanceOf(Escalation.Wait.class);
        // at half the link pre-copy needs 3.5 s, 1.75 times postcopy's: the plan tips it (S3 after its first pass)
        assertThat(Escalation.decide(ALL, planned(obs(5000, 200, 50, 100, 300, 0))))
                .isInstanceOf(Escalation.StartPostcopy.class).extracting(Escalation.Decision::reason).asString()
                .contains("postcopy pays: pre-copy needs about 3.5 s more at these rates, postcopy about 2.0 s",
                        "(as the plan predicted)");
    }

    @Test
    void theProjectionDecidesNotTheRatioAlone() {
        // 90% of the link, 100 MiB left: 12 passes, about 7 s to converge, 55 s left: wait
        Observation slow = obs(5000, 100, 90, 100, 300, 0);
        assertThat(slow.projectedMs(300)).isBetween(7_000.0, 7_400.0);
        assertThat(Escalation.decide(NOTHING, slow)).isInstanceOf(Escalation.Wait.class)
                .extracting(Escalation.Decision::reason).asString().contains("converging: at these rates");
        // the same with 4 s left: it cannot finish in time
        assertThat(Escalation.decide(NOTHING, obs(56_000, 100, 90, 100, 300, 0)))
                .isInstanceOf(Escalation.Stalled.class);
        assertThat(obs(0, 100, 100, 100, 300, 0).projectedMs(300)).isInfinite();
        assertThat(obs(0, 20, 100, 100, 300, 0).projectedMs(300)).isZero();
    }

    @Test
    void passesThatLeaveWhatTheyFoundAreStuckWhateverTheRatesSay() {
        // recorded: 16 MiB/s dirtied over a 17-19 MiB/s link by QEMU's rates, yet each pass left ~30 MiB
        Observation byRates = obs(9000, 30, 16, 18.6, 225, 0);
        assertThat(byRates.projectedMs(168)).isLessThan(20_000);
        Observation seen = new Observation(byRates.elapsedMs(), byRates.remainingBytes(), byRates.dirtyBytesPerS(),
                byRates.linkBytesPerS(), 1.01, 225, 0, 0, false, 0, 0, false);
        assertThat(seen.projectedMs(168)).isInfinite();
        assertThat(Escalation.decide(NOTHING, seen)).isInstanceOf(Escalation.Stalled.class);
        // and passes seen to halve what is left converge even when a noisy rate says 97%
        Observation halving = new Observation(3500, (long) (20 * MIB), 15.8 * MIB, 16.3 * MIB, 0.5, 225, 0, 0, false, 0,
                1, false);
        assertThat(halving.projectedMs(168)).isLessThan(60_000);
    }

    @Test
    void oneStuckPassWithMostOfTheTimeLeftIsNoReasonToAbort() {
        // the fresh-clone CI failure: 97% of the link after 1 s of 60 s, nothing else allowed
        Observation ci = obs(1000, 40, 15.8, 16.3, 225, 0);
        Escalation.Decision first = Escalation.decide(NOTHING, ci);
        assertThat(first).isInstanceOf(Escalation.Stalled.class);
        assertThat(first.reason()).contains("one pass of evidence");
        Escalation.Decision second = Escalation.decide(NOTHING, again(ci, 1));
        assertThat(second).isInstanceOf(Escalation.Stalled.class);
        assertThat(second.reason()).contains("giving up if it stays so for 15 s");
        // stuck for 14 s: still judged again; after 15 s it gives up with the numbers
        assertThat(Escalation.decide(NOTHING, again(stalled(15_000, 40, 15.8, 16.3, 225, 0, 14_000), 6)))
                .isInstanceOf(Escalation.Stalled.class);
        assertThat(Escalation.decide(NOTHING, again(stalled(16_000, 40, 15.8, 16.3, 225, 0, 15_000), 7)))
                .isInstanceOf(Escalation.Abort.class);
        // a longer time limit gives a longer grace: a quarter of 200 s
        Budget longer = new Budget(300, 200_000, false, false, false);
        assertThat(Escalation.decide(longer, again(stalled(40_000, 40, 17, 16.3, 225, 0, 40_000), 9)))
                .isInstanceOf(Escalation.Stalled.class);
        // and at 97% of the link the projection (about 70 s) fits the 160 s left: it converges, slowly
        assertThat(Escalation.decide(longer, again(stalled(40_000, 40, 15.8, 16.3, 225, 0, 40_000), 9)))
                .isInstanceOf(Escalation.Wait.class);
    }

    @Test
    void aConvergingMigrationIsLeftAlone() {
        // 200 MiB left but the guest dirties at 40% of the link: the passes shrink by themselves
        assertThat(Escalation.decide(ALL, obs(5000, 200, 40, 100, 300, 0))).isInstanceOf(Escalation.Wait.class);
    }

    @Test
    void aSpentTimeBudgetSkipsTheGentleSteps() {
        Observation late = obs(61_000, 25, 40, 100, 100, 0);
        assertThat(Escalation.decide(ALL, late)).isInstanceOf(Escalation.StartPostcopy.class);
        assertThat(Escalation.decide(ALL, late).reason()).contains("the time budget is spent");
        assertThat(Escalation.decide(NOTHING, late)).isInstanceOf(Escalation.Abort.class);
    }

    @Test
    void postcopyInProgressIsNeverInterrupted() {
        Observation o = new Observation(90_000, (long) (500 * MIB), 200 * MIB, 100 * MIB, Double.NaN, 100, 99, 99, true, 0,
                5, true);
        assertThat(Escalation.decide(NOTHING, o)).isInstanceOf(Escalation.Wait.class);
    }

    /**
     * With postcopy allowed, pre-copy that would converge in time but slowly is not waited for:
     * 7 s of re-sending at 90% against 1 s of pulling the 100 MiB once. One pass is not evidence
     * enough; the second (or the plan) is.
     */
    @Test
    void postcopyIsTakenWhenItPays() {
        Observation slow = obs(5000, 100, 90, 100, 300, 0);
        assertThat(Escalation.decide(ALL, slow)).isInstanceOf(Escalation.Stalled.class);
        Observation again = new Observation(8000, (long) (100 * MIB), 90 * MIB, 100 * MIB, Double.NaN, 300, 0, 99, false, 0, 1,
                false);
        assertThat(Escalation.decide(ALL, again)).isInstanceOf(Escalation.StartPostcopy.class)
                .extracting(Escalation.Decision::reason).asString()
                .contains("postcopy pays: pre-copy needs about 7.", "postcopy about 1.0 s", "(2 passes in a row)");
        Observation planned = new Observation(5000, (long) (100 * MIB), 90 * MIB, 100 * MIB, Double.NaN, 300, 0, 99, false, 0, 0,
                true);
        assertThat(Escalation.decide(ALL, planned)).isInstanceOf(Escalation.StartPostcopy.class)
                .extracting(Escalation.Decision::reason).asString().contains("(as the plan predicted)");
        // passes that leave a quarter: pre-copy needs ~1.3 s for what postcopy pulls in 1 s, close enough
        Observation quartering = new Observation(5000, (long) (100 * MIB), 25 * MIB, 100 * MIB, 0.25, 300, 0, 99, false,
                0, 1, true);
        assertThat(Escalation.decide(ALL, quartering)).isInstanceOf(Escalation.Wait.class);
    }
}
