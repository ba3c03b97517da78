package ferry.migration;

import com.fasterxml.jackson.annotation.JsonProperty;
import ferry.migration.disk.MirrorStart;
import ferry.migration.phase.Phase2;
import ferry.migration.plan.PrecopyModel;
import ferry.migration.policy.Escalation;
import ferry.migration.policy.PeerPlans;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The pre-flight plan: for each strategy, what the pre-copy model predicts from the measured
 * guest and link, and which strategy to use. Computed before a migration ({@code ferry plan})
 * and at the start of every live migration, so each result can be held against its prediction.
 *
 * @param policy the policy the migration would run with (the request's, else the VM's, else the
 *               default), or null when not known; {@link #prediction()} is that policy's outcome
 */
public record Plan(Inputs inputs, List<Prediction> strategies, String recommended, String reason,
                   List<DiskPrediction> disks, String policy) {
    /** Passes the model follows before it calls a migration endless. */
    public static final int MAX_PASSES = 60;
    /** What QEMU does when nobody changes its downtime limit. */
    public static final long QEMU_DEFAULT_DOWNTIME_MS = 300;
    /** Switch-over cost of postcopy: only the device state and the first faults (measured: 10–60 ms under TCG). */
    static final double POSTCOPY_SWITCH_MS = 60;
    /**
     * With postcopy allowed, pre-copy is waited for only while what it still needs after the first
     * pass is at most this many times what postcopy would need for the same (pulling the rest once).
     * Below it the two are close and pre-copy spares the guest postcopy's page faults; above it,
     * pre-copy sends the same pages again and again (S3: a ratio near 1 projects 17 s for 2 s of postcopy).
     */
    public static final double POSTCOPY_PAYS_FACTOR = 3;
    /** The classic policy doubles the downtime after six stalled polls of 2 s. */
    public static final double CLASSIC_STEP_S = 12;
    public static final long CLASSIC_CAP_MS = 30_000;

    /**
     * What the plan is computed from.
     *
     * @param workingSetBytes most the guest re-dirties between passes; the non-zero RAM when not known
     * @param linkSource      where {@code linkBytesPerS} came from (the configured limit, a probe)
     */
    public record Inputs(long ramBytes, double zeroShare, double dirtyBytesPerS, long workingSetBytes,
                         double linkBytesPerS, String linkSource, long maxDowntimeMs, long maxDurationMs,
                         boolean allowThrottle, boolean allowPostcopy, boolean allowPause, Disks disks) {
        public Inputs {
            disks = disks == null ? Disks.NONE : disks;
        }

        /** Without local disks to mirror. */
        public Inputs(long ramBytes, double zeroShare, double dirtyBytesPerS, long workingSetBytes,
                      double linkBytesPerS, String linkSource, long maxDowntimeMs, long maxDurationMs,
                      boolean allowThrottle, boolean allowPostcopy, boolean allowPause) {
            this(ramBytes, zeroShare, dirtyBytesPerS, workingSetBytes, linkBytesPerS, linkSource, maxDowntimeMs,
                    maxDurationMs, allowThrottle, allowPostcopy, allowPause, Disks.NONE);
        }

        /** These inputs with the guest's and the link's figures measured again, and {@code d} for the disks. */
        Inputs with(double dirty, long workingSet, double link, String source, Disks d) {
            return new Inputs(ramBytes, zeroShare, dirty, workingSet, link, source, maxDowntimeMs, maxDurationMs,
                    allowThrottle, allowPostcopy, allowPause, d);
        }

        /** A working set was seen (the second sample): below the non-zero RAM assumed without one. */
        public boolean workingSetSeen() {
            return workingSetBytes < (long) nonZeroBytes();
        }

        /** The non-zero RAM: what the first pass sends (a zero page goes as a flag). */
        public double nonZeroBytes() {
            return ramBytes * (1 - zeroShare);
        }

        public PrecopyModel model(double dirty) {
            long ws = Math.min(ramBytes, Math.max(0, workingSetBytes));
            return new PrecopyModel(ramBytes, zeroShare, ws, Math.max(0, dirty), ramLinkBytesPerS());
        }

        /**
         * The link the RAM stream has. While it runs the mirrors are in write-blocking mode: every
         * guest write to a local disk crosses to the target at once, outside QEMU's rate limits. On
         * a measured link those writes take their share from the RAM; under a configured limit QEMU
         * holds the RAM stream to the limit whatever the mirrors send beside it.
         */
        @JsonProperty
        public double ramLinkBytesPerS() {
            if (!disks.writesShareTheLink()) {
                return linkBytesPerS;
            }
            return Math.max(linkBytesPerS * MIN_RAM_SHARE, linkBytesPerS - disks.writeBytesPerS());
        }

        /** The part of the time limit left for the RAM once the mirrors are ready (the budget covers both). */
        @JsonProperty
        public long ramTimeMs() {
            return Math.max(0, maxDurationMs - (long) (disks.mirrorSeconds() * 1000));
        }
    }

    /**
     * What the local disks take from the RAM migration that follows them.
     *
     * @param mirrorSeconds       until every mirror is ready (they copy side by side), predicted
     * @param writeBytesPerS      the guest's writes to all its local disks, measured
     * @param writesShareTheLink  the link figure is the path's capacity (measured), not a limit QEMU
     *                            applies to the RAM stream alone
     */
    public record Disks(double mirrorSeconds, double writeBytesPerS, boolean writesShareTheLink) {
        public static final Disks NONE = new Disks(0, 0, false);

        /** From the disks' predictions: the slowest mirror decides when the RAM may start; the writes add up. */
        static Disks of(List<DiskPrediction> disks, boolean writesShareTheLink) {
            return new Disks(disks.stream().mapToDouble(DiskPrediction::seconds).max().orElse(0),
                    disks.stream().mapToDouble(DiskPrediction::writeBytesPerS).sum(), writesShareTheLink);
        }
    }

    /** The RAM stream is never modelled below this share of the link, however much the guest writes. */
    static final double MIN_RAM_SHARE = 0.1;

    /**
     * One strategy's predicted outcome.
     *
     * @param converges finishes within the time limit
     * @param fitsBudget converges with a downtime within the budget
     */
    public record Prediction(String strategy, boolean converges, boolean fitsBudget, int passes, long bytes,
                             double seconds, double downtimeMs, String note) {}

    /**
     * A local disk mirrored before the RAM moves ({@code --with-local-disks}).
     *
     * @param writeBytesPerS the guest's write rate on it, measured over the sample
     * @param mode           how its mirror starts (see {@link MirrorStart})
     * @param seconds        until its mirror is ready, predicted; the RAM migration follows
     */
    public record DiskPrediction(String name, String volume, long bytes, double writeBytesPerS, String mode,
                                 double seconds, String note) {}

    public Plan(Inputs inputs, List<Prediction> strategies, String recommended, String reason) {
        this(inputs, strategies, recommended, reason, List.of(), null);
    }

    public Plan(Inputs inputs, List<Prediction> strategies, String recommended, String reason,
                List<DiskPrediction> disks) {
        this(inputs, strategies, recommended, reason, disks, null);
    }

    /** The same plan for a migration that would run with {@code policy}. */
    public Plan forRun(String policy) {
        return new Plan(inputs, strategies, recommended, reason, disks, policy);
    }

    /**
     * The predicted outcome of {@link #policy}, or null: what the web UI's migrate dialog shows and
     * an evacuation ranks its targets by, computed here once rather than by each of them.
     */
    @JsonProperty
    public Prediction prediction() {
        return policy == null ? null : forPolicy(policy);
    }

    /**
     * Predicts the mirrors of {@code disks} first, then every RAM strategy on what they leave of
     * the time limit and, when {@code linkIsCapacity}, of the link ({@code in} must not carry disks yet).
     */
    public static Plan of(Inputs in, List<DiskPrediction> disks, boolean linkIsCapacity) {
        if (disks.isEmpty()) {
            return of(in);
        }
        Disks d = Disks.of(disks, linkIsCapacity);
        Inputs withDisks = in.with(in.dirtyBytesPerS(), in.workingSetBytes(), in.linkBytesPerS(), in.linkSource(), d);
        Plan ram = of(withDisks);
        String reason = d.mirrorSeconds() * 1000 >= in.maxDurationMs()
                ? String.format(Locale.ROOT, "the disks' mirrors alone need %.0f s of the %d s time limit; raise "
                        + "--max-duration or --bwlimit", d.mirrorSeconds(), in.maxDurationMs() / 1000)
                : ram.reason() + String.format(Locale.ROOT, " (after %.1f s of disk mirroring%s)", d.mirrorSeconds(),
                        linkIsCapacity ? "; the guest's disk writes leave the RAM "
                                + Sizes.bytes((long) withDisks.ramLinkBytesPerS()) + "/s of the link" : "");
        return new Plan(withDisks, ram.strategies(), ram.recommended(), reason, List.copyOf(disks));
    }

    /**
     * The same plan on the rates the stream itself showed over its first pass (QEMU's link rate
     * and dirty-pages rate), everything else as measured before: the check of the pre-flight
     * sample, which can miss writes (page sampling compares contents) or catch a noisy second.
     */
    public Plan calibrated(double streamLinkBytesPerS, double streamDirtyBytesPerS) {
        Inputs in = inputs;
        Inputs c = in.with(streamDirtyBytesPerS, in.workingSetBytes(), streamLinkBytesPerS, "the stream's first pass",
                in.disks());
        Plan p = of(c);
        return new Plan(c, p.strategies(), p.recommended(), p.reason(), disks, policy);
    }

    /**
     * The same plan for a guest measured again (its dirty rate, its working set), the link and the
     * disks as before; the peers' predictions are left to the caller ({@code PeerPlans}).
     */
    public Plan withGuest(double dirtyBytesPerS, long workingSetBytes) {
        Inputs in = inputs;
        Inputs bare = in.with(dirtyBytesPerS, workingSetBytes, in.linkBytesPerS(), in.linkSource(), Disks.NONE);
        Plan p = of(bare, disks, in.disks().writesShareTheLink());
        return new Plan(p.inputs(), p.strategies(), p.recommended(), p.reason(), p.disks(), policy);
    }

    /** Wall time of a strategy's migration: the mirrors, then the RAM as predicted. */
    public double totalSeconds(Prediction p) {
        return inputs.disks().mirrorSeconds() + p.seconds();
    }

    /** Predicts every strategy and recommends the first of the budget policy's steps that keeps the budget. */
    public static Plan of(Inputs in) {
        List<Prediction> out = new ArrayList<>();
        out.add(precopy("qemu-default", in, in.dirtyBytesPerS(), QEMU_DEFAULT_DOWNTIME_MS,
                "QEMU's 300 ms downtime limit, nothing else changed"));
        out.add(PeerPlans.classic(in));
        Prediction pre = precopy("budget:precopy", in, in.dirtyBytesPerS(), in.maxDowntimeMs(),
                "downtime limit raised up to the budget");
        out.add(pre);
        out.add(throttled(in));
        out.add(postcopy(in));
        out.add(pauseAndFinish(in));
        return recommend(in, out);
    }

    /** The prediction of the step the budget policy would end on with the allowed escalations. */
    public Prediction budgetOutcome() {
        for (Prediction p : strategies) {
            if (p.strategy().startsWith("budget:") && allowed(inputs, p.strategy()) && p.fitsBudget()
                    && !postcopyPays(inputs, strategies, p)) {
                return p;
            }
        }
        return strategies.stream().filter(p -> p.strategy().equals("budget:precopy")).findFirst().orElseThrow();
    }

    /** The prediction for a policy by name (budget: the step it would end on). */
    public Prediction forPolicy(String policy) {
        if (policy.equals("budget")) {
            return budgetOutcome();
        }
        return strategies.stream().filter(p -> p.strategy().equals(policy)).findFirst().orElse(null);
    }

    /**
     * Pre-copy that keeps the budget but needs, after its first pass, more than
     * {@link #POSTCOPY_PAYS_FACTOR} times the time postcopy would: with postcopy allowed, the budget
     * policy switches instead (the same judgement it makes on the stream, see {@link Escalation}).
     */
    public static boolean postcopyPays(Inputs in, List<Prediction> all, Prediction p) {
        if (!p.strategy().equals("budget:precopy") || !in.allowPostcopy()) {
            return false;
        }
        Prediction post = all.stream().filter(x -> x.strategy().equals("budget:postcopy")).findFirst().orElse(null);
        if (post == null || !post.fitsBudget()) {
            return false;
        }
        double firstPass = in.nonZeroBytes() / in.ramLinkBytesPerS();
        return p.seconds() - firstPass > POSTCOPY_PAYS_FACTOR * Math.max(0.05, post.seconds() - firstPass);
    }

    private static Plan recommend(Inputs in, List<Prediction> all) {
        for (Prediction p : all) {
            if (p.strategy().startsWith("budget:") && p.fitsBudget() && !postcopyPays(in, all, p)) {
                if (allowed(in, p.strategy())) {
                    return new Plan(in, all, "budget", "predicted to finish within the budget by " + step(p));
                }
                return new Plan(in, all, "budget", "finishing within the budget needs " + step(p) + ": add "
                        + flag(p.strategy()));
            }
        }
        return new Plan(in, all, "budget", "no strategy keeps a downtime of " + in.maxDowntimeMs()
                + " ms; raise --max-downtime or --max-duration, or migrate when the guest is quieter");
    }

    static boolean allowed(Inputs in, String strategy) {
        return switch (strategy) {
            case "budget:throttle" -> in.allowThrottle() && !in.allowPostcopy(); // postcopy comes first
            case "budget:postcopy" -> in.allowPostcopy();
            case "budget:pause" -> in.allowPause();
            default -> true;
        };
    }

    private static String step(Prediction p) {
        return switch (p.strategy()) {
            case "budget:precopy" -> "pre-copy alone";
            case "budget:throttle" -> "throttling the guest";
            case "budget:postcopy" -> "switching to postcopy";
            default -> "pausing the guest to finish";
        };
    }

    private static String flag(String strategy) {
        return switch (strategy) {
            case "budget:throttle" -> "--allow-throttle";
            case "budget:postcopy" -> "--allow-postcopy";
            default -> "--allow-pause";
        };
    }

    private static Prediction precopy(String name, Inputs in, double dirty, double downtimeMs, String note) {
        PrecopyModel.Prediction p = in.model(dirty).predict(downtimeMs, MAX_PASSES);
        boolean inTime = p.converges() && p.seconds() * 1000 <= in.ramTimeMs();
        // pre-copy that does not converge in time runs until the time limit stops it
        double seconds = inTime ? p.seconds() : in.ramTimeMs() / 1000.0;
        long bytes = inTime ? p.bytes() : (long) (seconds * in.ramLinkBytesPerS());
        return new Prediction(name, inTime, inTime && p.downtimeMs() <= in.maxDowntimeMs(), p.passes(), bytes, seconds,
                p.downtimeMs(), note);
    }

    /** Auto-converge cuts the dirty rate (see {@link PrecopyModel#keptUnderThrottle}); the smallest 10% step that converges wins. */
    private static Prediction throttled(Inputs in) {
        Prediction last = null;
        for (int t = 0; t <= 90; t += 10) {
            double dirty = in.dirtyBytesPerS() * PrecopyModel.keptUnderThrottle(t / 100.0);
            last = precopy("budget:throttle", in, dirty, in.maxDowntimeMs(), "guest throttled to " + (100 - t)
                    + "% of its CPU time");
            if (last.fitsBudget()) {
                return last;
            }
        }
        return new Prediction(last.strategy(), last.converges(), false, last.passes(), last.bytes(), last.seconds(),
                last.downtimeMs(), "even a 90% throttle does not keep the budget");
    }

    /**
     * Most of a pre-copy pass, then the guest runs on the target and pulls the rest: a short stop, a
     * slower guest. The switch comes with {@link #postcopySwitchRest} of the pass unsent, so the
     * part of what the pass dirties that it had not sent yet goes once, not twice; but not before
     * the second sample of the guest ends, which a short pass does not outlast.
     */
    private static Prediction postcopy(Inputs in) {
        double firstPass = in.nonZeroBytes();
        double rest = Math.min(postcopySwitchRest(in), Math.max(0, firstPass - in.ramLinkBytesPerS() * SECOND_PLAN_S));
        double dirtied = dirtiedDuring(in, firstPass) * (1 - rest / Math.max(1, firstPass));
        double bytes = firstPass + dirtied;
        double seconds = bytes / in.ramLinkBytesPerS();
        boolean inTime = seconds * 1000 <= in.ramTimeMs();
        double after = rest + dirtied;
        return new Prediction("budget:postcopy", inTime, inTime && POSTCOPY_SWITCH_MS <= in.maxDowntimeMs(), 2,
                (long) bytes, seconds, POSTCOPY_SWITCH_MS, String.format(Locale.ROOT,
                "%.0f MiB sent after the switch; the guest runs slower for %.1f s", after / 1048576,
                after / in.ramLinkBytesPerS()));
    }

    /** One pre-copy pass, then the guest is paused: the downtime is whatever it dirtied meanwhile. */
    private static Prediction pauseAndFinish(Inputs in) {
        double firstPass = in.nonZeroBytes();
        double dirtied = dirtiedDuring(in, firstPass);
        double seconds = (firstPass + dirtied) / in.ramLinkBytesPerS();
        double downtime = dirtied / in.ramLinkBytesPerS() * 1000;
        boolean inTime = seconds * 1000 <= in.ramTimeMs();
        return new Prediction("budget:pause", inTime, inTime && downtime <= in.maxDowntimeMs(), 2,
                (long) (firstPass + dirtied), seconds, downtime, "the guest is paused for the last pass");
    }

    /**
     * How much of the first pass's non-zero pages may still be unsent when the budget policy switches
     * to postcopy, where the plan foresaw that pre-copy will not do: what the pass will leave dirty,
     * at most {@link #POSTCOPY_SWITCH_SHARE} of those pages. Finishing the pass would send its rest
     * and then every page it dirtied again; switching sends the rest once (pushed, or pulled at the
     * guest's first touch), and of the dirtied pages only those already sent. The dirtied pages lie
     * throughout the RAM (S3, its 64 MiB set: switched with 2%, 10% and 23% of the pass unsent,
     * postcopy sent 62, 59 and 42-52 MiB of it again), so the saving grows with the rest, and so does
     * what the guest may have to pull; the cap keeps that to a quarter. Counted in bytes sent, not
     * in QEMU's {@code remaining}: that counts the zero pages too, which lie together at the RAM's
     * end and go by in a moment.
     */
    public static long postcopySwitchRest(Inputs in) {
        double firstPass = in.nonZeroBytes();
        return (long) Math.min(dirtiedDuring(in, firstPass), firstPass * POSTCOPY_SWITCH_SHARE);
    }

    /** The most of the first pass's non-zero pages that may be unsent when the budget policy switches to postcopy. */
    static final double POSTCOPY_SWITCH_SHARE = 0.25;
    /** When the plan on the second sample reaches the policy: both samples, and a poll (S3: 2.8-3.0 s into the stream). */
    static final double SECOND_PLAN_S =
            (Phase2.PLAN_SAMPLE.toMillis() + Phase2.WORKING_SET_SAMPLE.toMillis() + 200) / 1000.0;

    /** What the guest dirties while {@code pass} bytes are on the wire, at most its working set. */
    private static double dirtiedDuring(Inputs in, double pass) {
        return Math.min(in.model(in.dirtyBytesPerS()).workingSetBytes(), in.dirtyBytesPerS() * pass / in.ramLinkBytesPerS());
    }
}
