package ferry.migration.phase;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.CancelSignal;
import ferry.migration.MigrationResult;
import ferry.migration.MigrationStep;
import ferry.migration.Plan;
import ferry.migration.Progress;
import ferry.migration.Sizes;
import ferry.migration.TaskLog;
import ferry.migration.plan.PrecopyModel;
import ferry.migration.plan.WorkingSet;
import ferry.migration.policy.ConvergencePolicy;
import ferry.migration.policy.Policies;
import ferry.migration.recovery.Journal;
import ferry.protocol.Commands;
import ferry.protocol.MigrationInfo;
import ferry.protocol.MigrationStats;
import ferry.protocol.MigrationStatus;
import ferry.qmp.EventSubscription;
import ferry.qmp.QmpClient;
import ferry.qmp.QmpEventMessage;
import ferry.qmp.QmpException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Follows a running migration on the source: polls {@code query-migrate} (every interval,
 * a quarter of it near the end or when QEMU reports a status change), logs and publishes
 * progress, lets the policy act on every sample, and gives up after five consecutive failed
 * polls. Pre-copy ends when QEMU completes it or, when the policy switched to postcopy, once the
 * source reports postcopy-active: the hand-over happens then.
 */
public final class Phase2Monitor implements ConvergencePolicy.Control {
    static final int MAX_QUERY_FAILURES = 5;

    private final QmpClient qmp;
    private final EventSubscription events;
    private final TaskLog log;
    private final CancelSignal cancel;
    private final Duration interval;
    private final ConvergencePolicy policy;
    private final long startedNanos;
    /** Where the time limit counts from: the start of the stream, or of the disk mirrors before it. */
    private long budgetFromNanos;
    private long downtimeMs;
    private double percent;
    /** Where the RAM's progress starts: the share the disk mirrors took before it. */
    private double floor;
    /** QEMU's latest figures of the running stream: what a migration that ends early still reports. */
    private volatile MigrationInfo last;
    private final LinkRate linkRate = new LinkRate();
    /** Keeps the postcopy phase within the limit; empty when QEMU's is unlimited, null before postcopy. */
    private Optional<PostcopyBandwidth> postcopyLimit;
    /** The user's postcopy limit as journaled before a restart; -1 when this agent started the postcopy. */
    private long journaledLimit = -1;
    /** The max-bandwidth QEMU enforces in pre-copy; 0 when unknown. */
    private double bandwidthBytesPerS;
    private long pass;
    private int maxThrottle;
    private boolean postcopyStarted;
    private long pausedAtNanos;
    private long workingSetGuess;
    private Runnable beforeSwitchover;
    private boolean switchoverContinued;
    private Journal journal;
    private CompletableFuture<Plan> planning;
    private CompletableFuture<Plan> refining;
    private CompletableFuture<Plan> interim;
    /** The interim plan came: the refined one is on the third sample. */
    private boolean thirdSample;
    private boolean planGiven;
    private Plan preflight;
    private String policyName;
    private Plan calibrated;
    /** The short sample's rate once the longer sample's plan replaced its plan; -1 before. */
    private double firstSampleBytesPerS = -1;
    /** When a new pass last brought a poll; QEMU measures its rates again at most once a second. */
    private long lastPassWakeNanos;
    static final Duration PASS_WAKE_GAP = Duration.ofSeconds(1);
    private Calibration calibration = Plan::calibrated;

    /** The source's events the monitor wakes on for {@code policy}: status changes, and new passes where it asks. */
    public static EventSubscription eventsFor(QmpClient qmp, ConvergencePolicy policy) {
        return policy.pollsAtEachPass() ? qmp.subscribe("MIGRATION", "MIGRATION_PASS") : qmp.subscribe("MIGRATION");
    }

    /** {@code events} should carry the source's MIGRATION events: a status change ends the wait at once. */
    Phase2Monitor(QmpClient qmp, EventSubscription events, TaskLog log, CancelSignal cancel, Duration interval,
                  ConvergencePolicy policy, long downtimeMs) {
        this.qmp = qmp;
        this.events = events;
        this.log = log;
        this.cancel = cancel;
        this.interval = interval;
        this.policy = policy;
        this.downtimeMs = downtimeMs;
        this.startedNanos = System.nanoTime();
        this.budgetFromNanos = startedNanos;
        this.lastPassWakeNanos = startedNanos - PASS_WAKE_GAP.toNanos();
    }

    /** The journal's field of {@link MigrationStep#START_POSTCOPY}: the postcopy limit in bytes/s, 0 none, -1 unknown. */
    public static final String POSTCOPY_LIMIT_KEY = "postcopy_bandwidth";

    /**
     * Follows a postcopy already under way (after a restart): no policy steers it any more.
     * {@code limitBytesPerS} is the limit journaled when it started (-1 when unknown: QEMU's
     * setting is taken, which may already be lowered for the page requests).
     */
    public static Phase2Monitor forPostcopy(QmpClient qmp, EventSubscription events, TaskLog log, CancelSignal cancel,
                                            Duration interval, long limitBytesPerS) {
        Phase2Monitor m = new Phase2Monitor(qmp, events, log, cancel, interval, null, 0);
        m.postcopyStarted = true;
        m.journaledLimit = limitBytesPerS;
        return m;
    }

    /** The time limit covers what ran before the stream too (the disk mirrors), from {@code nanos}. */
    Phase2Monitor budgetFrom(long nanos) {
        this.budgetFromNanos = nanos;
        return this;
    }

    /** The RAM's progress counts from {@code percent} (what the disks took), so the whole never goes back. */
    Phase2Monitor startingAt(double percentDone) {
        this.floor = percentDone;
        this.percent = percentDone;
        return this;
    }

    /** The stream's rate is never judged above the bandwidth limit QEMU enforces in pre-copy. */
    Phase2Monitor limitedTo(double bytesPerS) {
        this.bandwidthBytesPerS = bytesPerS;
        return this;
    }

    /**
     * With pause-before-switchover on, QEMU stops the source at pre-switchover and waits: {@code check}
     * runs then (it may throw to cancel), and the migration continues after it.
     */
    Phase2Monitor beforeSwitchover(Runnable check) {
        this.beforeSwitchover = check;
        return this;
    }

    /**
     * The pre-flight plan, which may arrive while the first pass runs: handed to the policy on this
     * thread at the first poll after it came (unless {@code given} already), and checked against the
     * stream once its first pass is done (see {@link #calibrate}). A plan of null is no plan.
     */
    Phase2Monitor planned(CompletableFuture<Plan> plan, boolean given, String policy) {
        this.planning = plan;
        this.planGiven = given;
        this.policyName = policy;
        return this;
    }

    /**
     * The plan again after a longer sample of the guest (see {@link ferry.migration.plan.WorkingSet}),
     * taken while pre-copy runs: it replaces the first one, for the policy too; {@code interim}, when
     * it comes first, is the plan on part of that sample. A plan of null (or a future of null) is none.
     */
    Phase2Monitor refinedBy(CompletableFuture<Plan> interim, CompletableFuture<Plan> plan) {
        this.interim = interim;
        this.refining = plan;
        return this;
    }

    /** Makes the plan again on the rates the stream showed over its first pass. */
    @FunctionalInterface
    interface Calibration {
        Plan of(Plan followed, double streamLinkBytesPerS, double streamDirtyBytesPerS);
    }

    /** How the plan is made again on the stream's rates; by default {@link Plan#calibrated}, without the peers' predictions. */
    Phase2Monitor calibratedBy(Calibration c) {
        this.calibration = c;
        return this;
    }

    /** The plan the migration follows now: the refined one once taken, else the first; null before either. */
    Plan plan() {
        return preflight;
    }

    /** Takes each plan once its sample ended; the policy sees it before the sample it judges. */
    private void takePlan() {
        if (planning != null && planning.isDone()) {
            preflight = planning.join();
            planning = null;
            if (preflight != null && !planGiven) {
                policy.planned(preflight);
            }
        }
        if (planning == null && interim != null && (interim.isDone() || refining == null || refining.isDone())) {
            Plan part = interim.isDone() && !interim.isCompletedExceptionally() ? interim.join() : null;
            interim = null;
            take(part, "on a longer sample beside the stream");
            thirdSample = part != null;
        }
        if (planning == null && interim == null && refining != null && refining.isDone()) {
            Plan again = refining.isCompletedExceptionally() ? null : refining.join();
            refining = null;
            take(again, thirdSample ? "on a third sample (1 s) after it" : "on a longer sample beside the stream");
        }
    }

    /** A plan on a longer sample replaces the one followed, unless the guest was held back meanwhile. */
    private void take(Plan again, String sample) {
        if (again != null && preflight != null && (maxThrottle > 0 || pausedAtNanos != 0)) {
            // the guest wrote less because it was held back, not because it rewrote a set
            log.info("planner: the longer sample overlapped a %s; the first plan stands",
                    pausedAtNanos != 0 ? "pause of the guest" : "throttle of " + maxThrottle + "%");
        } else if (again != null && preflight != null) {
            logRefined(preflight, again, sample);
            if (firstSampleBytesPerS < 0) {
                firstSampleBytesPerS = preflight.inputs().dirtyBytesPerS();
            }
            preflight = again;
            policy.planned(again);
        }
    }

    private void logRefined(Plan first, Plan again, String sample) {
        Plan.Prediction was = first.forPolicy(policyName);
        Plan.Prediction now = again.forPolicy(policyName);
        if (was == null || now == null) {
            return;
        }
        Plan.Inputs in = again.inputs();
        String ws = in.workingSetSeen()
                ? "working set " + Sizes.bytes(in.workingSetBytes()) + " (rewritten within the sample)"
                : "no working set rewritten within the sample";
        log.info("planner, %s: dirty rate %s/s, %s -> %s: %s, %d passes, %.1f s, downtime %.0f ms (before: %.1f s)",
                sample, Sizes.bytes((long) in.dirtyBytesPerS()), ws,
                now.strategy(), now.converges() ? "converges" : "does not converge", now.passes(), now.seconds(),
                now.downtimeMs(), was.seconds());
    }

    /** The plan re-made on the stream's own rates after its first pass; null before, or without a plan. */
    Plan calibrated() {
        return calibrated;
    }

    /** The policy's irreversible steps (postcopy, pausing the guest) are journaled before they act. */
    Phase2Monitor journaled(Journal j) {
        this.journal = j;
        return this;
    }

    /**
     * Returns QEMU's stats once pre-copy ended: status completed, or postcopy-active after the
     * policy started postcopy. Throws {@link MigrationFailed} or {@link PolicyStop} otherwise.
     */
    MigrationInfo follow() {
        int failures = 0;
        long lastRemaining = -1;
        while (true) {
            Duration wait = lastRemaining >= 0 && lastRemaining < 64L << 20 ? interval.dividedBy(4) : interval;
            Duration wish = lastRemaining >= 0 ? policy.pollWithin() : null;
            waitForChange(wish != null && wish.compareTo(wait) < 0 ? wish : wait);
            cancel.check();
            MigrationInfo info;
            try {
                info = qmp.call(Commands.QUERY_MIGRATE, null, Duration.ofSeconds(10));
                failures = 0;
            } catch (QmpException e) {
                failures++;
                log.info("query migrate failed: %s", e.getMessage());
                if (failures >= MAX_QUERY_FAILURES) {
                    throw new MigrationFailed("too many query migrate failures (" + failures + " in a row) - aborting");
                }
                continue;
            }
            MigrationStatus status = info.status();
            if (status == MigrationStatus.COMPLETED || status == MigrationStatus.POSTCOPY_ACTIVE && postcopyStarted) {
                note(info);
                return info;
            }
            if (status == null || status == MigrationStatus.NONE) {
                throw new MigrationFailed("QEMU reports no migration (status " + (status == null ? "absent" : "none")
                        + ") although one was started");
            }
            if (status == MigrationStatus.FAILED || status == MigrationStatus.CANCELLED) {
                throw new MigrationFailed("migration status: " + status.wire()
                        + (info.errorDesc() != null ? " - " + info.errorDesc() : ""));
            }
            if (status == MigrationStatus.PRE_SWITCHOVER && !switchoverContinued) {
                continueSwitchover();
                continue;
            }
            if (status == MigrationStatus.SETUP || info.ram() == null) {
                continue;
            }
            last = info;
            ConvergencePolicy.Sample s = sample(info);
            publish(s);
            if (status == MigrationStatus.ACTIVE) {
                takePlan();
                calibrate(s);
                policy.step(s, this);
            }
            lastRemaining = s.remaining();
        }
    }

    private void continueSwitchover() {
        long at = System.nanoTime();
        log.info("switch-over: the source stopped at pre-switchover; checking before it continues");
        if (beforeSwitchover != null) {
            beforeSwitchover.run();
        }
        qmp.execute(Commands.MIGRATE_CONTINUE, Policies.parameters().put("state", "pre-switchover"));
        switchoverContinued = true;
        log.info("switch-over: continued after %d ms of checks", (System.nanoTime() - at) / 1_000_000);
    }

    /** Follows postcopy on the source until it completes; a broken link is handed to {@code recovery}. */
    public MigrationInfo followPostcopy(Recovery recovery) {
        int failures = 0;
        while (true) {
            waitForChange(interval.dividedBy(2));
            MigrationInfo info;
            try {
                info = qmp.call(Commands.QUERY_MIGRATE, null, Duration.ofSeconds(10));
                failures = 0;
            } catch (QmpException e) {
                if (++failures >= MAX_QUERY_FAILURES) {
                    throw new MigrationFailed("too many query migrate failures during postcopy (" + failures + ")");
                }
                continue;
            }
            MigrationStatus status = info.status();
            if (status == MigrationStatus.COMPLETED) {
                note(info);
                return info;
            }
            if (status == MigrationStatus.POSTCOPY_PAUSED) {
                recovery.recover(info);
                continue;
            }
            if (status == MigrationStatus.FAILED || status == MigrationStatus.CANCELLED || status == null
                    || status == MigrationStatus.NONE) {
                throw new MigrationFailed("postcopy ended with status " + (status == null ? "absent" : status.wire())
                        + (info.errorDesc() != null ? " - " + info.errorDesc() : ""));
            }
            if (info.ram() != null) {
                keepPostcopyLimit(info.ram());
                publish(sample(info));
            }
        }
    }

    /** The page requests go past QEMU's postcopy limit: the background stream makes room for them. */
    private void keepPostcopyLimit(MigrationStats ram) {
        if (postcopyLimit == null) {
            Long now = postcopyBandwidthNow();
            if (now == null) {
                return; // asked again at the next poll: following postcopy matters more than its limit
            }
            long limit = journaledLimit >= 0 ? journaledLimit : now;
            postcopyLimit = limit <= 0 ? Optional.empty() : Optional.of(new PostcopyBandwidth(limit, now > 0 ? now : limit));
        }
        postcopyLimit.map(b -> b.observe(System.nanoTime(), ram))
                .ifPresent(c -> setParameter("max-postcopy-bandwidth", c.bytesPerS(), c.reason()));
    }

    /** QEMU's max-postcopy-bandwidth (0: unlimited), or null when QEMU did not answer. */
    private Long postcopyBandwidthNow() {
        try {
            java.math.BigInteger max = qmp.call(Commands.QUERY_MIGRATE_PARAMETERS).maxPostcopyBandwidth();
            return max == null ? 0L : max.longValueExact();
        } catch (QmpException e) {
            return null;
        }
    }

    /** Brings a paused postcopy back; returns when the source was asked to resume (or throws). */
    interface Recovery {
        void recover(MigrationInfo paused);
    }

    private ConvergencePolicy.Sample sample(MigrationInfo info) {
        var ram = info.ram();
        long now = System.nanoTime();
        // in postcopy the page requests go past the limit (see the README): no cap there
        double link = linkRate.add(now, ram.transferred(), ram.mbps() * 1e6 / 8,
                info.status() == MigrationStatus.ACTIVE ? bandwidthBytesPerS : 0);
        long page = ram.pageSize() > 0 ? ram.pageSize() : 4096;
        double dirty = (double) ram.dirtyPagesRate() * page;
        pass = ram.dirtySyncCount();
        int throttle = info.cpuThrottlePercentage() == null ? 0 : info.cpuThrottlePercentage().intValue();
        maxThrottle = Math.max(maxThrottle, throttle);
        if (pass >= 2) {
            workingSetGuess = Math.max(workingSetGuess, ram.remaining());
        }
        long expected = info.expectedDowntime() != null ? info.expectedDowntime()
                : (long) (ram.remaining() / Math.max(1.0, link) * 1000);
        return new ConvergencePolicy.Sample(elapsedMs(), info.status().wire(), ram.transferred(), ram.remaining(),
                ram.total(), link, dirty, pass, throttle, expected, downtimeMs);
    }

    /**
     * Once the first pass is done, re-plans on the rates the stream showed and says whether the
     * pre-flight sample told the truth about convergence.
     */
    private void calibrate(ConvergencePolicy.Sample s) {
        if (preflight == null || calibrated != null || s.pass() < 2 || s.linkBytesPerS() <= 0) {
            return;
        }
        Plan.Inputs in = preflight.inputs();
        if (s.dirtyBytesPerS() == 0 && in.dirtyBytesPerS() > 0 && !in.workingSetSeen() && s.pass() == 2) {
            // a 0 here is QEMU without a rate for the pass (it measures at most once a second, yet
            // S3 showed one after a 4 s pass too, polled at the pass's event or not), not an idle
            // guest: a later pass judges
            return;
        }
        // where the plan saw a working set, QEMU's rate after a pass is that set over the pass (it
        // counts a page once a pass): lower than the guest's own rate, which stays the judge
        Plan base = preflight;
        double dirty = s.dirtyBytesPerS();
        String whose = "";
        WorkingSet missed = missedWorkingSet(s);
        if (in.workingSetSeen() && s.dirtyBytesPerS() < in.dirtyBytesPerS()) {
            dirty = in.dirtyBytesPerS();
            whose = s.dirtyBytesPerS() == 0 ? " (the guest's; QEMU has no rate for the pass yet)"
                    : " (the guest's; QEMU's " + Sizes.bytes((long) s.dirtyBytesPerS())
                            + "/s counts its working set once a pass)";
        } else if (missed != null) {
            base = preflight.withGuest(missed.dirtyBytesPerS(), missed.workingSetBytes());
            dirty = missed.dirtyBytesPerS();
            whose = String.format(" (the guest's, with a working set of %s the samples missed: the first pass dirtied "
                    + "that much, at least what the longer sample saw, yet QEMU's %s/s is below that sample's %s/s)",
                    Sizes.bytes(missed.workingSetBytes()), Sizes.bytes((long) s.dirtyBytesPerS()),
                    Sizes.bytes((long) in.dirtyBytesPerS()));
        }
        calibrated = calibration.of(base, s.linkBytesPerS(), dirty);
        if (missed != null) {
            // the policy judges the next passes by the set, as it would had the samples seen it
            policy.planned(calibrated);
        }
        Plan.Prediction before = preflight.forPolicy(policyName);
        Plan.Prediction now = calibrated.forPolicy(policyName);
        if (before == null || now == null) {
            return;
        }
        String verdict = now.converges() == before.converges() ? "the pre-flight plan holds"
                : "the pre-flight plan was wrong: it predicted " + (before.converges() ? "" : "no ") + "convergence"
                        + " from a dirty rate of " + Sizes.bytes((long) preflight.inputs().dirtyBytesPerS()) + "/s";
        log.info("planner, on the stream's %s: link %s/s, dirty %s/s%s -> %s: %s, %.1f s, downtime %.0f ms; %s",
                s.pass() == 2 ? "first pass" : "pass " + (s.pass() - 1), Sizes.bytes((long) s.linkBytesPerS()),
                Sizes.bytes((long) dirty), whose,
                now.strategy(), now.converges() ? "converges" : "does not converge", now.seconds(), now.downtimeMs(),
                verdict);
    }

    /**
     * A working set the two samples did not show but the first pass did (see
     * {@link WorkingSet#fromPass}); null when the plan has no longer sample behind it, or a set
     * already, or the pass was throttled or paused (the guest wrote less because it was held back).
     */
    private WorkingSet missedWorkingSet(ConvergencePolicy.Sample s) {
        Plan.Inputs in = preflight.inputs();
        // what is left at the second pass's start is what the first dirtied: only a policy polled at
        // each new pass has its sample there (another's may come seconds into the pass)
        if (firstSampleBytesPerS < 0 || in.workingSetSeen() || maxThrottle > 0 || pausedAtNanos != 0 || s.pass() != 2
                || !policy.pollsAtEachPass()) {
            return null;
        }
        WorkingSet w = WorkingSet.fromPass(in.dirtyBytesPerS(), Phase2.WORKING_SET_SAMPLE, firstSampleBytesPerS,
                s.dirtyBytesPerS(), s.remaining());
        return w.found() && w.workingSetBytes() < in.workingSetBytes() ? w : null;
    }

    private void publish(ConvergencePolicy.Sample s) {
        boolean post = s.status().startsWith("postcopy");
        // remaining can grow while the guest dirties memory: the share done never goes back
        double raw = s.transferred() + s.remaining() == 0 ? 0 : 100.0 * s.transferred() / (s.transferred() + s.remaining());
        percent = Math.max(percent, Math.min(99.9, floor + (100 - floor) * raw / 100));
        Double eta = eta(s, post);
        String phase = post ? "postcopy" : s.status().equals("device") || s.status().equals("pre-switchover")
                ? "switchover" : "precopy";
        log.info("migration %s, transferred %s of %s VM-state, %s/s, pass %d, dirty %s/s%s", s.status(),
                Sizes.bytes(s.transferred()), Sizes.bytes(s.total()), Sizes.bytes((long) s.linkBytesPerS()), s.pass(),
                Sizes.bytes((long) s.dirtyBytesPerS()), s.throttlePercent() > 0 ? ", throttle " + s.throttlePercent() + "%" : "");
        log.progress(new Progress(phase, s.status(), Math.round(percent * 10) / 10.0, s.transferred(), s.remaining(),
                s.total(), (long) s.linkBytesPerS(), (long) s.dirtyBytesPerS(), s.pass(), s.throttlePercent(),
                downtimeMs, s.expectedDowntimeMs(), eta, s.elapsedMs()));
    }

    /** The model's time left from here: the remaining bytes as RAM, the passes they still need. */
    private Double eta(ConvergencePolicy.Sample s, boolean post) {
        if (s.linkBytesPerS() <= 0) {
            return null;
        }
        if (post || s.remaining() == 0) {
            return s.remaining() / s.linkBytesPerS();
        }
        long ws = Math.max(s.remaining(), workingSetGuess);
        PrecopyModel m = new PrecopyModel(ws, 0, ws, s.dirtyBytesPerS(), s.linkBytesPerS());
        PrecopyModel.Prediction p = m.predict(downtimeMs, Plan.MAX_PASSES);
        if (!p.converges()) {
            return null;
        }
        // the model starts from a whole pass of `ws`; only `remaining` of the current one is left
        return Math.max(0, p.seconds() - (ws - s.remaining()) / s.linkBytesPerS());
    }

    private void note(MigrationInfo info) {
        if (info.ram() != null) {
            pass = Math.max(pass, info.ram().dirtySyncCount());
        }
        if (info.cpuThrottlePercentage() != null) {
            maxThrottle = Math.max(maxThrottle, info.cpuThrottlePercentage().intValue());
        }
    }

    /** The latest {@code query-migrate} answer with RAM figures, null before the first. */
    MigrationInfo last() {
        return last;
    }

    long elapsedMs() {
        return (System.nanoTime() - budgetFromNanos) / 1_000_000;
    }

    long downtimeMs() {
        return downtimeMs;
    }

    public long passes() {
        return pass;
    }

    public int maxThrottlePercent() {
        return maxThrottle;
    }

    boolean postcopyStarted() {
        return postcopyStarted;
    }

    /** Nanos when the policy paused the guest, 0 if it did not. */
    public long pausedAtNanos() {
        return pausedAtNanos;
    }

    // ---- what the policy may do -----------------------------------------------------------------

    @Override
    public void setDowntime(long ms, String reason) {
        log.info("%s", reason);
        try {
            ObjectNode args = Policies.parameters().put("downtime-limit", ms);
            qmp.execute(Commands.MIGRATE_SET_PARAMETERS, args);
            downtimeMs = ms;
        } catch (QmpException e) {
            log.info("migrate_set_downtime error: %s", e.getMessage());
        }
    }

    @Override
    public void setParameter(String name, long value, String reason) {
        log.info("%s", reason);
        try {
            qmp.execute(Commands.MIGRATE_SET_PARAMETERS, Policies.parameters().put(name, value));
        } catch (QmpException e) {
            log.info("could not set %s: %s", name, e.getMessage());
        }
    }

    @Override
    public void startPostcopy(String reason) {
        if (postcopyStarted) {
            return;
        }
        log.info("%s", reason);
        cancel.noReturn("postcopy has started: the target runs the guest and pulls the rest from the source");
        if (journal != null) {
            // the limit is journaled: an agent that follows this postcopy after a restart reads
            // QEMU's setting lowered for the page requests, not the user's limit
            Long limit = postcopyBandwidthNow();
            journal.step(MigrationStep.START_POSTCOPY, "start postcopy",
                    e -> e.put(POSTCOPY_LIMIT_KEY, limit == null ? -1 : limit));
        }
        qmp.call(Commands.MIGRATE_START_POSTCOPY);
        postcopyStarted = true;
    }

    @Override
    public void pauseGuest(String reason) {
        if (pausedAtNanos != 0) {
            return;
        }
        log.info("%s", reason);
        if (journal != null) {
            journal.step(MigrationStep.PAUSE_GUEST, "pause the guest to finish");
        }
        qmp.call(Commands.STOP);
        pausedAtNanos = System.nanoTime();
    }

    @Override
    public void stop(MigrationResult.Status outcome, String reason) {
        throw new PolicyStop(outcome, reason);
    }

    @Override
    public void log(String format, Object... args) {
        log.info(format, args);
    }

    /**
     * Waits one poll interval, or less when QEMU reports a status change (e.g. completed) or, where
     * subscribed, a new pass: at most one pass a second, as often as QEMU measures its rates again,
     * so that short passes neither flood the log nor hand the policy one rate twice. Events that
     * came meanwhile are dropped: the next query reads their state.
     */
    private void waitForChange(Duration d) {
        long deadline = System.nanoTime() + d.toNanos();
        try {
            while (true) {
                QmpEventMessage m = events.poll(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
                if (m == null) {
                    return;
                }
                long now = System.nanoTime();
                boolean pass = "MIGRATION_PASS".equals(m.name());
                if (!pass || now - lastPassWakeNanos >= PASS_WAKE_GAP.toNanos()) {
                    if (pass) {
                        lastPassWakeNanos = now;
                    }
                    while (events.poll(Duration.ZERO) != null) {
                        // one query answers them all
                    }
                    return;
                }
            }
        } catch (QmpException e) {
            // the connection dropped: the next query fails and is counted
            try {
                Thread.sleep(d.toMillis());
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new MigrationFailed("interrupted");
            }
        }
    }

    /** The migration itself failed (QEMU said so, or we could not follow it). */
    public static final class MigrationFailed extends RuntimeException {
        public MigrationFailed(String message) {
            super(message);
        }
    }

    /** The policy ended the migration: it did not converge in time, or no allowed step keeps the budget. */
    public static final class PolicyStop extends RuntimeException {
        public final MigrationResult.Status outcome;

        PolicyStop(MigrationResult.Status outcome, String message) {
            super(message);
            this.outcome = outcome;
        }
    }
}
