package ferry.migration.policy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.MigrationResult;
import ferry.migration.Sizes;
import java.util.List;
import java.util.Locale;

/**
 * An emulation of oVirt's default migration policy, "Minimal downtime": auto-converge on, QEMU's
 * downtime limit at 100 ms, then raised along a schedule while the migration goes on, and aborted
 * (the VM stays on the source) when the schedule is used up.
 *
 * <p>Sources. The policy is data in ovirt-engine: the {@code MigrationPolicies} value in
 * oVirt/ovirt-engine {@code packaging/dbscripts/upgrade/pre_upgrade/0000_config.sql} (policy id
 * 80554327-…-fcbbf52b827b, {@code autoConvergence: true}, {@code migrationCompression: false};
 * initial item setDowntime 100; convergence items setDowntime 150/200/300/400/500 at stalling
 * limits 1/2/3/4/6; last item abort). The engine sends the last items with the limit -1
 * ({@code ConvergenceSchedule.addDowntimes} in {@code backend/.../bll/migration/ConvergenceSchedule.java}).
 * VDSM runs the schedule ({@code MonitorThread} in oVirt/vdsm {@code lib/vdsm/virt/migration.py}):
 * it looks at libvirt's job every {@code migration_monitor_interval} seconds (10 by default,
 * {@code lib/vdsm/common/config.py.in}); the count it calls "stalling" is the number of memory
 * iterations (QEMU's dirty-sync count) since its first look, whatever the remaining data did —
 * the remaining data's low-water mark is only logged. At each look that sees a new iteration it
 * runs at most one action: the schedule's next one, if its limit is below the count.
 */
final class OvirtPolicy implements ConvergencePolicy {
    static final long INITIAL_DOWNTIME_MS = 100;
    /** VDSM's default {@code migration_monitor_interval}. */
    static final long MONITOR_INTERVAL_MS = 10_000;
    /** The schedule after the initial downtime; the last step aborts. */
    static final List<Step> SCHEDULE = List.of(new Step(1, 150), new Step(2, 200), new Step(3, 300), new Step(4, 400),
            new Step(6, 500), Step.ABORT);

    /** Run when more than {@code limit} iterations passed since the first look; {@code downtimeMs} < 0 aborts. */
    record Step(int limit, long downtimeMs) {
        static final Step ABORT = new Step(-1, -1);

        boolean aborts() {
            return downtimeMs < 0;
        }
    }

    private final Policies.Context c;
    private final long intervalMs;
    private long nextLookMs;
    private long firstIteration = -1;
    private long lastIteration;
    private long lowmark = -1;
    private int next;

    OvirtPolicy(Policies.Context c, long monitorIntervalMs) {
        this.c = c;
        this.intervalMs = monitorIntervalMs;
        this.nextLookMs = monitorIntervalMs;
    }

    @Override
    public String name() {
        return "ovirt";
    }

    @Override
    public Setup setup() {
        ObjectNode p = Policies.parameters().put("max-bandwidth", c.bandwidthBytesPerS())
                .put("downtime-limit", INITIAL_DOWNTIME_MS);
        return new Setup(Policies.capabilities("events", true, "auto-converge", true), p, String.format(Locale.ROOT,
                "policy ovirt (an emulation of oVirt's \"Minimal "
                + "downtime\" policy): downtime-limit %d ms, raised to 150/200/300/400/500 ms after more than 1/2/3/4/6 "
                + "passes, then abort; auto-converge on, max-bandwidth %s/s; VDSM looks every %d s%s",
                INITIAL_DOWNTIME_MS, Sizes.bytes(c.bandwidthBytesPerS()), intervalMs / 1000,
                explicitLimit() ? "; not-converged at the --max-duration of " + c.maxDurationMs() / 1000 + " s" : ""));
    }

    private boolean explicitLimit() {
        return c.limits().maxDurationS() != null;
    }

    @Override
    public void step(Sample s, Control control) {
        if (explicitLimit() && Policies.overTime(s, c, control)) {
            return;
        }
        if (s.elapsedMs() < nextLookMs) {
            return;
        }
        nextLookMs = s.elapsedMs() + intervalMs;
        if (lowmark < 0 || s.remaining() < lowmark) {
            lowmark = s.remaining();
        } else {
            control.log("ovirt: stalling: %s remaining, the low mark is %s", Sizes.bytes(s.remaining()),
                    Sizes.bytes(lowmark));
        }
        if (firstIteration < 0) {
            firstIteration = s.pass();
            lastIteration = s.pass();
            return;
        }
        if (s.pass() <= lastIteration) {
            return;
        }
        lastIteration = s.pass();
        long count = lastIteration - firstIteration;
        if (next >= SCHEDULE.size() || SCHEDULE.get(next).limit() >= count) {
            return;
        }
        Step step = SCHEDULE.get(next++);
        if (step.aborts()) {
            control.stop(MigrationResult.Status.ABORTED, String.format(Locale.ROOT, "ovirt: %d passes since the first "
                            + "look and still not converged after the whole Minimal downtime schedule (downtime limit %d ms, "
                            + "throttle %d%%): aborted, as VDSM does; %s still to send at %.1f MiB/s while the guest dirties "
                            + "%.1f MiB/s", count, s.downtimeLimitMs(), s.throttlePercent(), Sizes.bytes(s.remaining()),
                    s.linkBytesPerS() / 1048576, s.dirtyBytesPerS() / 1048576));
            return;
        }
        control.setDowntime(step.downtimeMs(), String.format(Locale.ROOT, "ovirt: %d passes since the first look (more "
                + "than %d): downtime limit %d ms", count, step.limit(), step.downtimeMs()));
    }
}
