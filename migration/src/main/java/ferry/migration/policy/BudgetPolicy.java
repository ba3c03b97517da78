package ferry.migration.policy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.MigrationRequest;
import ferry.migration.MigrationResult;
import ferry.migration.Plan;
import ferry.migration.Sizes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Ferry's default: keep the user's downtime budget. Measures the link and the dirty rate at every
 * poll and escalates in order (see {@link Escalation}): downtime within the budget, throttling
 * (auto-converge), postcopy, pause-and-finish, abort; each step only when allowed.
 */
public final class BudgetPolicy implements ConvergencePolicy {
    public static final long DEFAULT_BUDGET_MS = 300;
    /**
     * QEMU's downtime limit stays below the budget: the downtime it reports also covers the device
     * state and the error of its bandwidth estimate (measured: up to ~20% over the limit).
     */
    static final double QEMU_SHARE = 0.75;
    static final long FIRST_LIMIT_MS = 100;
    /**
     * At t% QEMU puts each vCPU to sleep for t/(100-t) of a 10 ms slice, and stopping the guest
     * waits for those sleeps: at 99% that is ~1 s of extra downtime (measured: 1103 ms in the
     * first bench), at 90% at most 90 ms.
     */
    static final int MAX_THROTTLE = 90;
    private final Policies.Context c;
    private final long budgetMs;
    private final Escalation.Budget budget;
    private long limitMs;
    private boolean paused;
    private long judgedPass = -1;
    /** Elapsed ms when the judgements began to find pre-copy stuck with nothing left to try; -1 when not. */
    private long stalledSinceMs = -1;
    private final RateTrend trend = new RateTrend();
    /** Judgements in a row that found pre-copy not converging. */
    private int notConverging;
    private boolean plannedStuck;
    /** The guest's write rate and working set when the plan saw it rewrite one; 0 when not. */
    private double rewriteBytesPerS;
    private long workingSetBytes;
    /** Plans in a row, each on its own sample of the guest, that found pre-copy will not do. */
    private int stuckPlans;
    /** The first pass's non-zero pages as the plan saw them; 0 for no switch within the first pass. */
    private long firstPassBytes;
    /** What of them may stay unsent when postcopy starts (see {@link Plan#postcopySwitchRest}). */
    private long switchRestBytes;
    private Duration pollWish;

    BudgetPolicy(Policies.Context c) {
        this.c = c;
        this.budgetMs = c.downtimeMs() != null ? c.downtimeMs() : DEFAULT_BUDGET_MS;
        long ceiling = Math.max(1, (long) (budgetMs * QEMU_SHARE));
        this.limitMs = Math.min(FIRST_LIMIT_MS, ceiling);
        MigrationRequest.Limits l = c.limits();
        this.budget = new Escalation.Budget(ceiling, c.maxDurationMs(), l.allowThrottle(), l.allowPostcopy(),
                l.allowPause());
    }

    @Override
    public String name() {
        return "budget";
    }

    long budgetMs() {
        return budgetMs;
    }

    @Override
    public Setup setup() {
        MigrationRequest.Limits l = c.limits();
        var caps = Policies.capabilities("events", true);
        ObjectNode p = Policies.parameters().put("downtime-limit", limitMs).put("max-bandwidth", c.bandwidthBytesPerS());
        List<String> allowed = new ArrayList<>();
        // with postcopy allowed it comes first, and a throttle armed now would act on QEMU's own
        // trigger before the policy judged anything: the guest keeps its CPU instead
        boolean throttle = l.allowThrottle() && !l.allowPostcopy();
        if (l.allowThrottle() && !throttle) {
            allowed.add("throttle (not armed: postcopy comes first)");
        }
        if (throttle && c.dirtyLimit()) {
            // each vCPU may dirty its share of half the link: the rest of the link drains the backlog
            long perVcpu = Math.max(1, c.bandwidthBytesPerS() / 2 / 1_000_000 / Math.max(1, c.vcpus()));
            caps.put("dirty-limit", true);
            p.put("vcpu-dirty-limit", perVcpu);
            allowed.add("throttle (dirty-limit " + perVcpu + " MB/s per vCPU)");
        } else if (throttle) {
            caps.put("auto-converge", true);
            // start firmly and climb fast: a throttle that creeps up wastes the time budget
            p.put("cpu-throttle-initial", 30).put("cpu-throttle-increment", 20).put("cpu-throttle-tailslow", true)
                    .put("max-cpu-throttle", MAX_THROTTLE);
            allowed.add("throttle (auto-converge 30% +20% up to " + MAX_THROTTLE + "%)");
        }
        if (l.allowPostcopy()) {
            caps.put("postcopy-ram", true);
            // the bandwidth limit holds in postcopy too (QEMU's default there is unlimited)
            p.put("max-postcopy-bandwidth", c.bandwidthBytesPerS());
            String preempt = "";
            if (c.bothHave("postcopy-preempt")) {
                caps.put("postcopy-preempt", true);
                preempt = " with preempt";
            } else {
                preempt = " without preempt (not usable between these two QEMUs)";
            }
            allowed.add("postcopy" + preempt);
        }
        if (l.allowPause()) {
            allowed.add("pause-and-finish");
        }
        return new Setup(caps, p, "policy budget: downtime budget " + budgetMs + " ms (QEMU limit from " + limitMs
                + " up to " + budget.maxDowntimeMs() + " ms), time limit " + c.maxDurationMs() / 1000
                + " s, max-bandwidth " + Sizes.bytes(c.bandwidthBytesPerS()) + "/s, allowed: "
                + (allowed.isEmpty() ? "nothing beyond the downtime" : String.join(", ", allowed)));
    }

    /**
     * Pre-copy alone predicted to miss the budget, or to take so long that postcopy pays, is one
     * witness; the first pass that agrees is the second.
     */
    @Override
    public void planned(Plan plan) {
        Plan.Prediction precopy = plan.forPolicy("budget:precopy");
        plannedStuck = precopy != null && (!precopy.fitsBudget()
                || Plan.postcopyPays(plan.inputs(), plan.strategies(), precopy));
        Plan.Prediction postcopy = plan.forPolicy("budget:postcopy");
        stuckPlans = plannedStuck ? stuckPlans + 1 : 0;
        Plan.Inputs in = plan.inputs();
        boolean early = plannedStuck && postcopy != null && postcopy.fitsBudget() && c.limits().allowPostcopy();
        firstPassBytes = early ? (long) in.nonZeroBytes() : 0;
        switchRestBytes = early ? Plan.postcopySwitchRest(in) : 0;
        rewriteBytesPerS = in.workingSetSeen() ? in.dirtyBytesPerS() : 0;
        workingSetBytes = in.workingSetSeen() ? in.workingSetBytes() : 0;
    }

    /**
     * The dirty rate to judge a pass by. QEMU counts a page once a pass, so for a guest that
     * rewrites its working set within a pass the stream's rate is the set over the pass's length,
     * however fast the guest writes (S3: 16 MiB/s for 48). Where the plan saw such a set and the
     * pass left about that much, the guest's own rate says what the next pass faces; not under a
     * throttle, which the plan's rate predates.
     */
    private double judgedDirtyBytesPerS(Sample s, Control control) {
        double stream = trend.dirtyBytesPerS();
        boolean thatSet = s.remaining() >= SET_LEFT_LOW * workingSetBytes
                && s.remaining() <= SET_LEFT_HIGH * workingSetBytes;
        if (rewriteBytesPerS <= stream || s.throttlePercent() > 0 || !thatSet) {
            return stream;
        }
        control.log("budget: pass %d left %s, about the working set the plan saw, which the guest rewrites at %s/s: "
                + "judged at that rate, not the stream's %s/s (QEMU counts a page once a pass)", s.pass(),
                Sizes.bytes(s.remaining()), Sizes.bytes((long) rewriteBytesPerS), Sizes.bytes((long) stream));
        return rewriteBytesPerS;
    }

    /**
     * A pass left "about the working set" between these shares of it: the judging poll comes at the
     * pass's event, but up to a poll interval into the pass when the pass came within a second of
     * the last one or a query failed, and the pass has sent some of the set by then (polled: S3
     * 48-62 MiB of a 64 MiB set); a converging guest leaves much less (the next pass a fraction of
     * the last).
     */
    static final double SET_LEFT_LOW = 0.5;
    static final double SET_LEFT_HIGH = 1.25;

    /**
     * The switch to postcopy comes at the second pass's start: a poll later than that lets the pass
     * resend part of the working set, which postcopy then sends a third time (S3, polled: up to
     * 16 MiB, half a second at 32 MiB/s, with a poll every 500 ms near the pass's end).
     */
    @Override
    public boolean pollsAtEachPass() {
        return true;
    }

    /**
     * Two plans in a row, each on its own sample of the guest (the short one and the longer one
     * beside the stream), found pre-copy will not keep the budget, or that postcopy pays: that is the
     * evidence to switch within the first pass, once it has sent all but {@link #switchRestBytes}. The stream
     * cannot confirm it sooner: QEMU counts the dirty pages only at a pass's end.
     */
    static final int EARLY_SWITCH_PLANS = 2;
    /** How often to poll while the switch waits for the second plan: it may come within the pass. */
    static final Duration AWAIT_PLAN_POLL = Duration.ofMillis(200);
    static final Duration MIN_POLL = Duration.ofMillis(50);

    @Override
    public Duration pollWithin() {
        return pollWish;
    }

    /**
     * In the first pass, with a plan that foresaw the switch: switches once both plans agree and
     * the pass sent what it should, and asks for the next poll then. Returns whether it switched.
     */
    private boolean firstPass(Sample s, Control control) {
        pollWish = null;
        if (firstPassBytes <= 0) {
            return false;
        }
        long toGo = firstPassBytes - switchRestBytes - s.transferred();
        if (toGo <= 0 && stuckPlans >= EARLY_SWITCH_PLANS) {
            control.startPostcopy(String.format(Locale.ROOT, "budget: switching to postcopy within the first pass, "
                    + "%s of its about %s sent (the rest no more than it would leave dirty, nor a quarter): %d plans "
                    + "on separate samples of the guest predicted that pre-copy will not keep the budget or that "
                    + "postcopy pays, and finishing the pass would send again what it dirtied; %d s of %d s used",
                    Sizes.bytes(s.transferred()), Sizes.bytes(firstPassBytes), stuckPlans,
                    s.elapsedMs() / 1000, c.maxDurationMs() / 1000));
            return true;
        }
        // bytes go out at the link's rate: the poll comes when they are sent
        pollWish = toGo <= 0 ? AWAIT_PLAN_POLL : Duration.ofMillis(Math.max(MIN_POLL.toMillis(),
                (long) (toGo * 1000.0 / Math.max(1, s.linkBytesPerS() > 0 ? s.linkBytesPerS() : c.bandwidthBytesPerS()))));
        return false;
    }

    @Override
    public void step(Sample s, Control control) {
        boolean overTime = s.elapsedMs() > c.maxDurationMs();
        if (s.pass() == 1 && !overTime && !paused) {
            if (firstPass(s, control)) {
                return;
            }
        } else {
            pollWish = null;
        }
        // before the second pass there is no dirty rate to judge by
        if ((s.pass() < 2 && !overTime) || paused) {
            return;
        }
        // judge once per pass, on its first sample: mid-pass the remaining bytes say nothing about
        // what the switch-over would cost; past the time limit, judge at once
        if (s.pass() == judgedPass && !overTime) {
            return;
        }
        judgedPass = s.pass();
        int maxThrottle = c.limits().allowThrottle() ? MAX_THROTTLE : 0;
        trend.add(s.dirtyBytesPerS(), s.linkBytesPerS(), s.throttlePercent(), s.remaining());
        Escalation.Observation o = new Escalation.Observation(s.elapsedMs(), s.remaining(), judgedDirtyBytesPerS(s, control),
                trend.linkBytesPerS(), trend.shrinkRatio(), limitMs, s.throttlePercent(), maxThrottle, false,
                stalledSinceMs < 0 ? 0 : s.elapsedMs() - stalledSinceMs, notConverging, plannedStuck);
        Escalation.Decision d = Escalation.decide(budget, o);
        if (!(d instanceof Escalation.Stalled) && !(d instanceof Escalation.Abort)) {
            stalledSinceMs = -1;
        }
        notConverging = d instanceof Escalation.Wait || d instanceof Escalation.SetDowntime ? 0 : notConverging + 1;
        switch (d) {
            case Escalation.Wait w -> control.log("budget: pass %d: %s", s.pass(), w.reason());
            case Escalation.Stalled st -> {
                if (stalledSinceMs < 0) {
                    stalledSinceMs = s.elapsedMs();
                }
                control.log("budget: pass %d: %s", s.pass(), st.reason());
            }
            case Escalation.SetDowntime sd -> {
                if (sd.downtimeMs() > limitMs) {
                    limitMs = sd.downtimeMs();
                    control.setDowntime(limitMs, "budget: " + sd.reason());
                }
            }
            case Escalation.Throttle t -> control.log("budget: pass %d: %s", s.pass(), t.reason());
            case Escalation.StartPostcopy pc -> control.startPostcopy("budget: " + pc.reason());
            case Escalation.PauseAndFinish pf -> {
                paused = true;
                control.pauseGuest("budget: " + pf.reason());
            }
            case Escalation.Abort a -> control.stop(MigrationResult.Status.ABORTED, "budget: " + a.reason());
        }
    }
}
