package ferry.migration.phase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.CancelSignal;
import ferry.migration.MigrationRequest;
import ferry.migration.Plan;
import ferry.migration.TaskLog;
import ferry.migration.policy.PeerPlans;
import ferry.migration.policy.Policies;
import ferry.protocol.MigrationInfo;
import ferry.protocol.MigrationStatus;
import ferry.qmp.EventSubscription;
import ferry.qmp.QmpClient;
import ferry.qmp.QmpOptions;
import ferry.qmp.testing.FakeQmpServer;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;

/** Phase 2's monitor against a scripted QMP peer: failures, the classic downtime policy, ends, events, cancel. */
@Timeout(30)
class Phase2MonitorTest {
    private static final Duration FAST = Duration.ofMillis(50);

    private FakeQmpServer fake;
    private QmpClient qmp;
    private EventSubscription events;
    private final TaskLog log = new TaskLog();
    private final CancelSignal cancel = new CancelSignal();

    @BeforeEach
    void setUp() throws IOException {
        fake = new FakeQmpServer().greeting(10, 0, 0);
    }

    @AfterEach
    void tearDown() throws IOException {
        if (events != null) {
            events.close();
        }
        if (qmp != null) {
            qmp.close();
        }
        fake.close();
    }

    private Phase2Monitor monitor(Duration interval, boolean classic, long downtimeMs) {
        qmp = QmpClient.connect(fake.socketPath(), QmpOptions.defaults());
        events = qmp.subscribe("MIGRATION");
        Policies.Context c = new Policies.Context(128, 1, 100L << 20, (int) downtimeMs, 600_000,
                MigrationRequest.Limits.DEFAULTS, java.util.Set.of(), java.util.Set.of(), false);
        return new Phase2Monitor(qmp, events, log, cancel, interval,
                Policies.create(classic ? "classic" : "qemu-default", c), downtimeMs);
    }

    static String active(long transferred, long remaining) {
        return "{\"status\":\"active\",\"total-time\":100,\"ram\":{\"transferred\":" + transferred + ",\"remaining\":"
                + remaining + ",\"total\":134217728,\"duplicate\":0,\"skipped\":0,\"normal\":0,\"normal-bytes\":0,"
                + "\"dirty-pages-rate\":0,\"mbps\":100.0,\"dirty-sync-count\":1,\"postcopy-requests\":0,"
                + "\"page-size\":4096}}";
    }

    static final String COMPLETED = "{\"status\":\"completed\",\"total-time\":1234,\"downtime\":42,"
            + "\"ram\":{\"transferred\":5000000,\"remaining\":0,\"total\":134217728,\"mbps\":100.0,"
            + "\"dirty-sync-count\":3}}";

    /** Answers the n-th query-migrate (0-based) with {@code script.apply(n)}: JSON, or null for an error reply. */
    private void script(IntFunction<String> script) {
        AtomicInteger n = new AtomicInteger();
        fake.handler((req, q) -> {
            if (req.command().equals("query-migrate")) {
                String r = script.apply(n.getAndIncrement());
                if (r == null) {
                    q.error(req, "GenericError", "scripted failure");
                } else {
                    q.reply(req, r);
                }
            } else {
                q.reply(req, FakeQmpServer.JSON.createObjectNode());
            }
        });
    }

    private List<Long> downtimesSent() {
        return fake.commands("migrate-set-parameters").stream()
                .map(r -> r.path("arguments").path("downtime-limit").asLong()).toList();
    }

    // ---- failures ------------------------------------------------------------------------------

    /** A pass-{@code pass} answer whose stream dirties {@code dirtyPages} pages/s at {@code mbps}. */
    static String pass(int pass, long transferred, long remaining, long dirtyPages, double mbps) {
        return "{\"status\":\"active\",\"total-time\":100,\"ram\":{\"transferred\":" + transferred
                + ",\"remaining\":" + remaining + ",\"total\":134217728,\"duplicate\":0,\"skipped\":0,\"normal\":0,"
                + "\"normal-bytes\":0,\"dirty-pages-rate\":" + dirtyPages + ",\"mbps\":" + mbps
                + ",\"dirty-sync-count\":" + pass + ",\"postcopy-requests\":0,\"page-size\":4096}}";
    }

    @Test
    void theFirstPassOfTheStreamChecksThePreflightPlan() {
        // the pre-flight sample saw 1 MiB/s dirtied over 100 MiB/s: converges; the stream shows
        // 40 MiB/s over 32 MiB/s, which does not
        Plan preflight = Plan.of(new Plan.Inputs(128L << 20, 0.2, 1 << 20, 100L << 20, 100 << 20, "limit", 300,
                600_000, false, false, false));
        assertThat(preflight.forPolicy("qemu-default").converges()).isTrue();
        script(n -> n < 2 ? pass(1, 1000, 90 << 20, 0, 268)
                : n < 4 ? pass(2, 1000, 60 << 20, 40 * 256, 268) : COMPLETED); // link from QEMU's mbps
        Phase2Monitor m = monitor(FAST, false, 300).planned(CompletableFuture.completedFuture(preflight), true,
                "qemu-default");
        m.follow();
        assertThat(m.calibrated()).isNotNull();
        assertThat(m.calibrated().inputs().linkSource()).isEqualTo("the stream's first pass");
        assertThat(log.lines()).filteredOn(l -> l.contains("planner, on the stream's first pass")).singleElement()
                .asString().contains("does not converge")
                .contains("the pre-flight plan was wrong: it predicted convergence from a dirty rate of 1.0 MiB/s");
    }

    @Test
    void aWorkingSetTheStreamCountsOnceAPassIsNotTakenForACalmerGuest() {
        // the plan saw 48 MiB/s rewriting a 64 MiB set over a 32 MiB/s link: it does not converge;
        // after a 4 s pass QEMU reports 16 MiB/s (the set over the pass), which alone would
        Plan preflight = Plan.of(new Plan.Inputs(256L << 20, 0.5, 48 << 20, 128L << 20, 32 << 20, "limit", 300,
                600_000, false, false, false)).withGuest(48 << 20, 64L << 20);
        assertThat(preflight.forPolicy("qemu-default").converges()).isFalse();
        script(n -> n < 2 ? pass(1, 1000, 90 << 20, 0, 268)
                : n < 4 ? pass(2, 1000, 60 << 20, 16 * 256, 268) : COMPLETED);
        Phase2Monitor m = monitor(FAST, false, 300).planned(CompletableFuture.completedFuture(preflight), true,
                "qemu-default");
        m.follow();
        assertThat(log.lines()).filteredOn(l -> l.contains("planner, on the stream's first pass")).singleElement()
                .asString().contains("dirty 48.0 MiB/s (the guest's; QEMU's 16.0 MiB/s counts its working set once a pass)")
                .contains("does not converge").contains("the pre-flight plan holds");
    }

    @Test
    void aPeerEmulationsPlanIsCheckedAgainstTheStreamToo() {
        // the peers' predictions are added beside the plan's own: a calibration that adds them
        // again lets an ovirt run say whether its pre-flight plan held, as the others do
        Plan preflight = PeerPlans.addTo(Plan.of(new Plan.Inputs(128L << 20, 0.2, 1 << 20, 100L << 20, 100 << 20,
                "limit", 300, 600_000, false, false, false)), false).forRun("ovirt");
        assertThat(preflight.forPolicy("ovirt").converges()).isTrue();
        script(n -> n < 2 ? pass(1, 1000, 90 << 20, 0, 268)
                : n < 4 ? pass(2, 1000, 60 << 20, 2 * 256, 268) : COMPLETED);
        Phase2Monitor m = monitor(FAST, false, 300).planned(CompletableFuture.completedFuture(preflight), true, "ovirt")
                .calibratedBy((p, link, dirty) -> PeerPlans.addTo(p.calibrated(link, dirty), false));
        m.follow();
        assertThat(m.calibrated().forPolicy("ovirt")).isNotNull();
        assertThat(log.lines()).filteredOn(l -> l.contains("planner, on the stream's first pass")).singleElement()
                .asString().contains("-> ovirt: converges").contains("the pre-flight plan holds");
    }

    @Test
    void aPlanThatArrivesDuringTheFirstPassReachesThePolicyOnceBeforeItJudges() {
        Plan preflight = Plan.of(new Plan.Inputs(128L << 20, 0.2, 1 << 20, 100L << 20, 100 << 20, "limit", 300,
                600_000, false, false, false));
        CompletableFuture<Plan> planning = new CompletableFuture<>();
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        script(n -> {
            if (n == 2) {
                planning.complete(preflight); // the sample ends while pass 1 runs
            }
            return n < 4 ? pass(1, 1000, 90 << 20, 0, 268) : n < 6 ? pass(2, 1000, 10 << 20, 256, 268) : COMPLETED;
        });
        qmp = QmpClient.connect(fake.socketPath(), QmpOptions.defaults());
        events = qmp.subscribe("MIGRATION");
        new Phase2Monitor(qmp, events, log, cancel, FAST, recording(seen), 300).planned(planning, false, "qemu-default")
                .follow();
        assertThat(seen).containsOnlyOnce("planned");
        assertThat(seen.indexOf("planned")).as("the plan came during pass 1: %s", seen).isPositive()
                .isLessThan(seen.indexOf("step 2"));
        assertThat(seen.get(0)).isEqualTo("step 1");
    }

    /** A policy that records what it was given: "planned", "step N". */
    private static ferry.migration.policy.ConvergencePolicy recording(List<String> seen) {
        return planRecording(new java.util.ArrayList<>(), seen, false);
    }

    @Test
    void aWorkingSetBothSamplesMissedIsFoundByTheFirstPassAndReachesThePolicy() {
        // S3 once: 48 MiB/s over a 64 MiB set, sampled at 33 (200 ms) and 26 MiB/s (2.5 s, no set
        // by the samples' rule); a 4 s pass dirtied the 64 MiB, which QEMU reports as 16 MiB/s
        double mib = 1 << 20;
        Plan first = Plan.of(new Plan.Inputs(256L << 20, 0.5, 33 * mib, 128L << 20, 32 << 20, "limit", 300,
                600_000, false, true, false));
        Plan refined = first.withGuest(26 * mib, 128L << 20);
        assertThat(refined.inputs().workingSetSeen()).isFalse();
        assertThat(refined.forPolicy("qemu-default").converges()).as("26 MiB/s on a 32 MiB/s link").isTrue();
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Plan> given = new java.util.concurrent.CopyOnWriteArrayList<>();
        script(n -> n < 2 ? pass(1, 1000, 90 << 20, 0, 268) : n < 4 ? pass(2, 1000, 64L << 20, 16 * 256, 268) : COMPLETED);
        qmp = QmpClient.connect(fake.socketPath(), QmpOptions.defaults());
        events = qmp.subscribe("MIGRATION");
        Phase2Monitor m = new Phase2Monitor(qmp, events, log, cancel, FAST, planRecording(given, seen, true), 300)
                .planned(CompletableFuture.completedFuture(first), false, "qemu-default")
                .refinedBy(null, CompletableFuture.completedFuture(refined));
        m.follow();
        assertThat(m.calibrated().inputs().workingSetSeen()).isTrue();
        assertThat(m.calibrated().inputs().workingSetBytes()).isEqualTo(64L << 20);
        assertThat(m.calibrated().inputs().dirtyBytesPerS()).as("the faster sample").isEqualTo(33 * mib);
        assertThat(given).as("first, refined, then the stream's").hasSize(3).last().isSameAs(m.calibrated());
        assertThat(seen.lastIndexOf("planned")).as("before the pass is judged: %s", seen).isLessThan(seen.indexOf("step 2"));
        assertThat(m.plan()).as("the prediction stays the one made before the pass ended").isSameAs(refined);
        assertThat(log.lines()).filteredOn(l -> l.contains("planner, on the stream's first pass")).singleElement()
                .asString().contains("dirty 33.0 MiB/s (the guest's, with a working set of 64.0 MiB the samples missed")
                .contains("QEMU's 16.0 MiB/s is below that sample's 26.0 MiB/s")
                .contains("does not converge").contains("the pre-flight plan was wrong");
    }

    @Test
    void aPassThatKeepsUpWithTheLongerSampleOrAPolicyPolledLateFindsNoSet() {
        double mib = 1 << 20;
        for (boolean keepsUp : new boolean[] {true, false}) {
            // keeping up: 16 MiB/s sampled and over the pass; else S3's pass, but the policy's poll
            // may come seconds into pass 2, where what is left is no longer what pass 1 dirtied
            Plan first = Plan.of(new Plan.Inputs(256L << 20, 0.5, (keepsUp ? 19 : 33) * mib, 128L << 20, 32 << 20,
                    "limit", 300, 600_000, false, true, false));
            Plan refined = first.withGuest((keepsUp ? 16 : 26) * mib, 128L << 20);
            List<Plan> given = new java.util.concurrent.CopyOnWriteArrayList<>();
            script(n -> n < 2 ? pass(1, 1000, 90 << 20, 0, 268) : n < 4 ? pass(2, 1000, 64L << 20, 16 * 256, 268)
                    : COMPLETED);
            if (qmp != null) {
                events.close();
                qmp.close();
            }
            qmp = QmpClient.connect(fake.socketPath(), QmpOptions.defaults());
            events = qmp.subscribe("MIGRATION");
            Phase2Monitor m = new Phase2Monitor(qmp, events, log, cancel, FAST, planRecording(given,
                    new java.util.ArrayList<>(), keepsUp), 300)
                    .planned(CompletableFuture.completedFuture(first), false, "qemu-default")
                    .refinedBy(null, CompletableFuture.completedFuture(refined));
            m.follow();
            assertThat(given).hasSize(2);
            assertThat(m.calibrated().inputs().workingSetSeen()).isFalse();
            assertThat(m.calibrated().inputs().dirtyBytesPerS()).isEqualTo(16 * mib);
        }
    }

    @Test
    void budgetSwitchesToPostcopyOnTheFirstPassThatShowsAWorkingSetTheSamplesMissed() throws Exception {
        double mib = 1 << 20;
        Plan first = Plan.of(new Plan.Inputs(256L << 20, 0.5, 33 * mib, 128L << 20, 32 << 20, "limit", 300,
                60_000, false, true, false));
        Plan refined = first.withGuest(26 * mib, 128L << 20);
        AtomicBoolean switched = new AtomicBoolean();
        AtomicInteger n = new AtomicInteger();
        fake.handler((req, q) -> {
            if (req.command().equals("migrate-start-postcopy")) {
                switched.set(true);
                q.reply(req, FakeQmpServer.JSON.createObjectNode());
            } else if (req.command().equals("query-migrate")) {
                q.reply(req, switched.get() ? "{\"status\":\"postcopy-active\",\"total-time\":4200}"
                        : n.getAndIncrement() < 2 ? pass(1, 1000, 90 << 20, 0, 268) : pass(2, 1000, 64L << 20, 16 * 256, 268));
            } else {
                q.reply(req, FakeQmpServer.JSON.createObjectNode());
            }
        });
        qmp = QmpClient.connect(fake.socketPath(), QmpOptions.defaults());
        Policies.Context c = new Policies.Context(256, 1, 32L << 20, 300, 60_000,
                new MigrationRequest.Limits(60, false, true, false, null), java.util.Set.of(), java.util.Set.of(), false);
        var budget = Policies.create("budget", c);
        events = Phase2Monitor.eventsFor(qmp, budget);
        Phase2Monitor m = new Phase2Monitor(qmp, events, log, cancel, FAST, budget, 100)
                .planned(CompletableFuture.completedFuture(first), false, "budget")
                .refinedBy(null, CompletableFuture.completedFuture(refined));
        assertThat(m.follow().status()).isEqualTo(MigrationStatus.POSTCOPY_ACTIVE);
        assertThat(fake.commands("migrate-start-postcopy")).hasSize(1);
        assertThat(log.lines()).anyMatch(l -> l.contains("the samples missed"))
                .anyMatch(l -> l.contains("budget: switching to postcopy") && l.contains("as the plan predicted"));
    }

    @Test
    void aPollBeforeQemuHasThePassesRateWaitsForTheNextPass() {
        // QEMU counts the new pass before it computes the rates: a poll in between reads 0 B/s,
        // which is no rate at all for a guest the sample saw writing
        double mib = 1 << 20;
        Plan first = Plan.of(new Plan.Inputs(256L << 20, 0.5, 20 * mib, 128L << 20, 32 << 20, "limit", 300,
                600_000, false, false, false));
        script(n -> n < 2 ? pass(1, 1000, 90 << 20, 0, 268) : n < 4 ? pass(2, 1000, 64L << 20, 0, 268)
                : n < 6 ? pass(3, 1000, 40L << 20, 20 * 256, 268) : COMPLETED);
        Phase2Monitor m = monitor(FAST, false, 300).planned(CompletableFuture.completedFuture(first), true,
                "qemu-default");
        m.follow();
        assertThat(m.calibrated().inputs().dirtyBytesPerS()).isEqualTo(20 * mib);
        assertThat(log.lines()).filteredOn(l -> l.contains("planner, on the stream's")).singleElement()
                .asString().contains("planner, on the stream's pass 2: link ").contains(", dirty 20.0 MiB/s ->");
    }

    /** A policy that keeps the plans it was given and records "planned", "step N"; polled at each pass or not. */
    private static ferry.migration.policy.ConvergencePolicy planRecording(List<Plan> given, List<String> seen,
                                                                          boolean pollsAtEachPass) {
        return new ferry.migration.policy.ConvergencePolicy() {
            @Override
            public String name() {
                return "recording";
            }

            @Override
            public Setup setup() {
                return null;
            }

            @Override
            public void planned(Plan plan) {
                given.add(plan);
                seen.add("planned");
            }

            @Override
            public void step(Sample s, Control control) {
                seen.add("step " + s.pass());
            }

            @Override
            public boolean pollsAtEachPass() {
                return pollsAtEachPass;
            }
        };
    }

    @ParameterizedTest(name = "interim plan came: {0}")
    @ValueSource(booleans = {true, false})
    void thePlanOnTheTwoWindowsReachesThePolicyBeforeTheOneWithTheThird(boolean interimCame) {
        // S3's unsure case: 31 MiB/s in 200 ms, 26 in 2.5 s (no set), then a 1 s window found it
        double mib = 1 << 20;
        Plan first = Plan.of(new Plan.Inputs(256L << 20, 0.5, 31 * mib, 128L << 20, 32 << 20, "limit", 300,
                600_000, false, true, false));
        Plan twoWindows = first.withGuest(26 * mib, 128L << 20);
        Plan threeWindows = first.withGuest(45 * mib, 64L << 20);
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Plan> given = new java.util.concurrent.CopyOnWriteArrayList<>();
        CompletableFuture<Plan> interim = interimCame ? CompletableFuture.completedFuture(twoWindows)
                : new CompletableFuture<>(); // never completed: the refined plan must not wait for it
        CompletableFuture<Plan> refining = new CompletableFuture<>();
        script(n -> {
            if (n == 3) {
                refining.complete(threeWindows);
            }
            return n < 5 ? pass(1, 1000, (long) (200 - 20 * n) << 20, 0, 268) : COMPLETED;
        });
        qmp = QmpClient.connect(fake.socketPath(), QmpOptions.defaults());
        events = qmp.subscribe("MIGRATION");
        Phase2Monitor m = new Phase2Monitor(qmp, events, log, cancel, FAST, planRecording(given, seen, true), 300)
                .planned(CompletableFuture.completedFuture(first), false, "qemu-default")
                .refinedBy(interim, refining);
        m.follow();
        if (interimCame) {
            assertThat(given).as("in the order of their samples").startsWith(first, twoWindows, threeWindows);
            assertThat(seen).as("the interim plan before the first step, the third window's later")
                    .startsWith("planned", "planned", "step 1").filteredOn("planned"::equals).hasSize(3);
        } else {
            assertThat(given).startsWith(first, threeWindows);
        }
        assertThat(m.plan()).isSameAs(threeWindows);
        assertThat(log.lines()).filteredOn(l -> l.contains("planner, on a")).hasSize(interimCame ? 2 : 1).last()
                .asString().contains("working set 64.0 MiB")
                .contains(interimCame ? "on a third sample (1 s) after it" : "on a longer sample beside the stream");
    }

    @Test
    void aLongerSampleThatOverlappedAThrottleDoesNotReplaceThePlan() {
        // auto-converge held the guest back while the longer sample ran: its lower rate is the
        // throttle's doing, not a working set the guest rewrites
        Plan first = Plan.of(new Plan.Inputs(128L << 20, 0.2, 8 << 20, 100L << 20, 32 << 20, "limit", 300,
                600_000, true, false, false));
        Plan refined = first.withGuest(8 << 20, 4L << 20);
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        CompletableFuture<Plan> refining = new CompletableFuture<>();
        script(n -> {
            if (n == 2) {
                refining.complete(refined); // the sample ends as pass 2 runs under a 20% throttle
            }
            return n < 2 ? pass(1, 1000, 90 << 20, 0, 268) : n < 6 ? pass(2, 1000, 60 << 20, 2048, 268)
                    .replace("{\"status\"", "{\"cpu-throttle-percentage\":20,\"status\"") : COMPLETED;
        });
        qmp = QmpClient.connect(fake.socketPath(), QmpOptions.defaults());
        events = qmp.subscribe("MIGRATION");
        Phase2Monitor m = new Phase2Monitor(qmp, events, log, cancel, FAST, recording(seen), 300)
                .planned(CompletableFuture.completedFuture(first), false, "qemu-default").refinedBy(null, refining);
        m.follow();
        assertThat(seen).as("only the first plan reached the policy").containsOnlyOnce("planned");
        assertThat(m.plan()).isSameAs(first);
        assertThat(log.lines()).anyMatch(l -> l.contains("planner: the longer sample overlapped a throttle of 20%; "
                + "the first plan stands"));
    }

    @Test
    void afterARestartPostcopyIsHeldToTheJournaledLimitNotToQemusLoweredSetting() throws Exception {
        // the agent before had lowered the background to a tenth of 16 MiB/s; the requests calmed since
        AtomicInteger n = new AtomicInteger();
        fake.handler((req, q) -> {
            switch (req.command()) {
                case "query-migrate-parameters" -> q.reply(req, "{\"max-postcopy-bandwidth\":1677721}");
                case "query-migrate" -> {
                    int i = n.getAndIncrement();
                    q.reply(req, i >= 3 ? COMPLETED : "{\"status\":\"postcopy-active\",\"total-time\":100,\"ram\":{"
                            + "\"transferred\":" + (80_000_000L + i * 2_000_000L) + ",\"remaining\":1000000,"
                            + "\"total\":134217728,\"duplicate\":0,\"skipped\":0,\"normal\":0,\"normal-bytes\":0,"
                            + "\"dirty-pages-rate\":0,\"mbps\":16.0,\"dirty-sync-count\":3,"
                            + "\"postcopy-requests\":" + (5000 + i * 10) + ",\"page-size\":4096}}");
                }
                default -> q.reply(req, FakeQmpServer.JSON.createObjectNode());
            }
        });
        qmp = QmpClient.connect(fake.socketPath(), QmpOptions.defaults());
        events = qmp.subscribe("MIGRATION");
        Phase2Monitor.forPostcopy(qmp, events, log, cancel, Duration.ofMillis(200), 16L << 20)
                .followPostcopy(paused -> { throw new AssertionError("no pause here"); });
        List<Long> set = fake.commands("migrate-set-parameters").stream()
                .map(r -> r.path("arguments").path("max-postcopy-bandwidth").asLong()).toList();
        assertThat(set).as("raised back towards the user's 16 MiB/s").singleElement()
                .satisfies(b -> assertThat(b / 1048576.0).isBetween(15.0, 16.0));
    }

    @Test
    void fiveFailedQueriesInARowAbort() {
        script(n -> null);
        Phase2Monitor m = monitor(FAST, true, 100);
        assertThatThrownBy(m::follow).isInstanceOf(Phase2Monitor.MigrationFailed.class)
                .hasMessageContaining("too many query migrate failures").hasMessageContaining("5 in a row");
        assertThat(fake.commands("query-migrate")).hasSize(Phase2Monitor.MAX_QUERY_FAILURES);
        assertThat(log.lines()).filteredOn(l -> l.contains("query migrate failed")).hasSize(5)
                .allMatch(l -> l.contains("scripted failure"));
    }

    @Test
    void aSuccessResetsTheFailureCount() {
        // 4 failures, a success, 4 failures, completed: 8 failures in all but never 5 in a row
        script(n -> n < 4 || (n > 4 && n < 9) ? null : n == 4 ? active(1000, 50_000) : COMPLETED);
        MigrationInfo info = monitor(FAST, true, 100).follow();
        assertThat(info.status()).isEqualTo(MigrationStatus.COMPLETED);
        assertThat(fake.commands("query-migrate")).hasSize(10);
        assertThat(log.lines()).filteredOn(l -> l.contains("query migrate failed")).hasSize(8);
    }

    @Test
    void aDroppedConnectionEndsInTooManyFailures() throws Exception {
        script(n -> active(1000L * (n + 1), 50_000 - n));
        Phase2Monitor m = monitor(FAST, true, 100);
        CompletableFuture<MigrationInfo> f = CompletableFuture.supplyAsync(m::follow);
        while (fake.commands("query-migrate").size() < 2) {
            Thread.sleep(10);
        }
        fake.session().disconnect();
        assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(Phase2Monitor.MigrationFailed.class)
                .hasMessageContaining("too many query migrate failures");
    }

    // ---- the classic policy --------------------------------------------------------------------

    @Test
    void growingRemainingDoublesTheDowntime() {
        // poll 0 sets the baseline; polls 1..6 grow (6 stalls) -> 200; polls 7..12 grow -> 400; then completed
        script(n -> n <= 12 ? active(1000L * (n + 1), 10_000 + 1000L * n) : COMPLETED);
        Phase2Monitor m = monitor(FAST, true, 100);
        assertThat(m.follow().status()).isEqualTo(MigrationStatus.COMPLETED);
        assertThat(downtimesSent()).containsExactly(200L, 400L);
        for (ObjectNode r : fake.commands("migrate-set-parameters")) {
            assertThat(r.path("arguments").size()).as(r.toString()).isEqualTo(1); // only downtime-limit changes
        }
        assertThat(m.downtimeMs()).isEqualTo(400);
        assertThat(log.lines()).anyMatch(l -> l.endsWith("auto-increased downtime to continue migration: 200 ms"))
                .anyMatch(l -> l.endsWith("auto-increased downtime to continue migration: 400 ms"));
    }

    @Test
    void zeroRemainingCountsAsStalled() {
        // 6 polls with nothing remaining (not yet switched over) -> one doubling
        script(n -> n < 6 ? active(1000L * (n + 1), 0) : COMPLETED);
        Phase2Monitor m = monitor(FAST, true, 100);
        m.follow();
        assertThat(downtimesSent()).containsExactly(200L);
    }

    @Test
    void fiveStallsAreNotEnough() {
        script(n -> n <= 5 ? active(1000L * (n + 1), 10_000 + 1000L * n) : COMPLETED);
        Phase2Monitor m = monitor(FAST, true, 100);
        m.follow();
        assertThat(downtimesSent()).isEmpty();
        assertThat(m.downtimeMs()).isEqualTo(100);
    }

    @Test
    void shrinkingRemainingNeverDoubles() {
        script(n -> n < 20 ? active(1000L * (n + 1), 100_000 - 1000L * n) : COMPLETED);
        Phase2Monitor m = monitor(FAST, true, 100);
        m.follow();
        assertThat(fake.commands("query-migrate")).hasSize(21);
        assertThat(downtimesSent()).isEmpty();
        assertThat(m.downtimeMs()).isEqualTo(100);
        assertThat(log.lines()).noneMatch(l -> l.contains("auto-increased"));
    }

    @Test
    void withoutTheClassicPolicyNothingDoubles() {
        script(n -> n <= 12 ? active(1000L * (n + 1), 10_000 + 1000L * n) : COMPLETED);
        Phase2Monitor m = monitor(FAST, false, 100);
        m.follow();
        assertThat(downtimesSent()).isEmpty();
    }

    @Test
    void aRefusedDowntimeChangeIsLoggedAndTheMigrationGoesOn() {
        AtomicInteger n = new AtomicInteger();
        fake.handler((req, q) -> {
            switch (req.command()) {
                case "query-migrate" -> {
                    int i = n.getAndIncrement();
                    q.reply(req, i <= 6 ? active(1000L * (i + 1), 10_000 + 1000L * i) : COMPLETED);
                }
                case "migrate-set-parameters" -> q.error(req, "GenericError", "no you don't");
                default -> q.reply(req, FakeQmpServer.JSON.createObjectNode());
            }
        });
        Phase2Monitor m = monitor(FAST, true, 100);
        assertThat(m.follow().status()).isEqualTo(MigrationStatus.COMPLETED);
        assertThat(log.lines()).anyMatch(l -> l.contains("migrate_set_downtime error") && l.contains("no you don't"));
    }

    // ---- how it ends ---------------------------------------------------------------------------

    @Test
    void failedStatusThrowsWithQemusErrorText() {
        script(n -> n == 0 ? active(1000, 50_000)
                : "{\"status\":\"failed\",\"error-desc\":\"Unable to write to socket: Connection reset by peer\"}");
        assertThatThrownBy(monitor(FAST, true, 100)::follow).isInstanceOf(Phase2Monitor.MigrationFailed.class)
                .hasMessageContaining("failed")
                .hasMessageContaining("Unable to write to socket: Connection reset by peer");
    }

    @Test
    void cancelledStatusThrows() {
        script(n -> "{\"status\":\"cancelled\"}");
        assertThatThrownBy(monitor(FAST, true, 100)::follow).isInstanceOf(Phase2Monitor.MigrationFailed.class)
                .hasMessageContaining("cancelled");
    }

    @Test
    void completedReturnsQemusStats() {
        script(n -> n < 2 ? active(1000L * (n + 1), 50_000 - n) : n == 2 ? "{\"status\":\"setup\"}" : COMPLETED);
        MigrationInfo info = monitor(FAST, true, 100).follow();
        assertThat(info.status()).isEqualTo(MigrationStatus.COMPLETED);
        assertThat(info.downtime()).isEqualTo(42L);
        assertThat(info.totalTime()).isEqualTo(1234L);
        assertThat(info.ram().transferred()).isEqualTo(5_000_000L);
        assertThat(log.progress()).isNotNull();
        assertThat(log.progress().status()).isEqualTo("active");
        assertThat(log.lines()).anyMatch(l -> l.contains("migration active, transferred"));
    }

    @Test
    void aMigrationEventWakesTheMonitorBeforeThePollInterval() throws Exception {
        AtomicBoolean sent = new AtomicBoolean();
        script(n -> sent.get() ? COMPLETED : active(1000, 500L << 20));
        Phase2Monitor m = monitor(Duration.ofSeconds(5), true, 100);
        long t0 = System.nanoTime();
        CompletableFuture<MigrationInfo> f = CompletableFuture.supplyAsync(m::follow);
        Thread.sleep(300);
        assertThat(fake.commands("query-migrate")).isEmpty(); // still waiting out its first interval
        sent.set(true);
        fake.session().event("MIGRATION", "{\"status\":\"completed\"}");
        MigrationInfo info = f.get(4, TimeUnit.SECONDS);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(info.status()).isEqualTo(MigrationStatus.COMPLETED);
        assertThat(ms).isLessThan(2000);
        assertThat(fake.commands("query-migrate")).hasSize(1);
    }

    private Phase2Monitor eventDriven(String policyName) {
        qmp = QmpClient.connect(fake.socketPath(), QmpOptions.defaults());
        Policies.Context c = new Policies.Context(128, 1, 100L << 20, 300, 600_000,
                MigrationRequest.Limits.DEFAULTS, java.util.Set.of(), java.util.Set.of(), false);
        var policy = Policies.create(policyName, c);
        events = Phase2Monitor.eventsFor(qmp, policy);
        return new Phase2Monitor(qmp, events, log, cancel, Duration.ofSeconds(5), policy, 100);
    }

    @Test
    void budgetIsPolledAtANewPassSoItJudgesThePassAtItsStart() throws Exception {
        AtomicBoolean done = new AtomicBoolean();
        script(n -> done.get() ? COMPLETED : pass(2, 200L << 20, 300L << 20, 256, 32));
        Phase2Monitor m = eventDriven("budget");
        long t0 = System.nanoTime();
        CompletableFuture<MigrationInfo> f = CompletableFuture.supplyAsync(m::follow);
        FakeQmpServer.Session qemu = fake.session();
        Thread.sleep(300);
        assertThat(fake.commands("query-migrate")).isEmpty();
        qemu.event("MIGRATION_PASS", "{\"pass\":2}");
        await().atMost(Duration.ofSeconds(3)).until(() -> !fake.commands("query-migrate").isEmpty());
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(3000); // the interval is 5 s
        // passes closer than a second (QEMU's rates are not measured again) bring no poll
        qemu.event("MIGRATION_PASS", "{\"pass\":3}");
        qemu.event("MIGRATION_PASS", "{\"pass\":4}");
        Thread.sleep(500);
        assertThat(fake.commands("query-migrate")).hasSize(1);
        done.set(true);
        qemu.event("MIGRATION", "{\"status\":\"completed\"}");
        assertThat(f.get(4, TimeUnit.SECONDS).status()).isEqualTo(MigrationStatus.COMPLETED);
        assertThat(fake.commands("query-migrate")).hasSize(2);
    }

    @Test
    void aPolicyThatCountsPollsKeepsItsCadenceAcrossPasses() throws Exception {
        AtomicBoolean done = new AtomicBoolean();
        script(n -> done.get() ? COMPLETED : pass(2, 200L << 20, 300L << 20, 256, 32));
        Phase2Monitor m = eventDriven("classic");
        CompletableFuture<MigrationInfo> f = CompletableFuture.supplyAsync(m::follow);
        FakeQmpServer.Session qemu = fake.session();
        Thread.sleep(300);
        qemu.event("MIGRATION_PASS", "{\"pass\":2}");
        Thread.sleep(1000);
        assertThat(fake.commands("query-migrate")).isEmpty();
        done.set(true);
        qemu.event("MIGRATION", "{\"status\":\"completed\"}");
        assertThat(f.get(4, TimeUnit.SECONDS).status()).isEqualTo(MigrationStatus.COMPLETED);
    }

    // ---- cancel --------------------------------------------------------------------------------

    @Test
    void cancelWhileFollowingThrowsTheCancellation() throws Exception {
        CountDownLatch polled = new CountDownLatch(3);
        AtomicInteger n = new AtomicInteger();
        fake.handler((req, q) -> {
            if (req.command().equals("query-migrate")) {
                int i = n.getAndIncrement();
                q.reply(req, active(1000L * (i + 1), 100L << 20));
                polled.countDown();
            } else {
                q.reply(req, FakeQmpServer.JSON.createObjectNode());
            }
        });
        Phase2Monitor m = monitor(FAST, true, 100);
        CompletableFuture<MigrationInfo> f = CompletableFuture.supplyAsync(m::follow);
        assertThat(polled.await(5, TimeUnit.SECONDS)).isTrue();
        cancel.cancel("cancelled by the test");
        assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).cause()
                .isInstanceOf(CancelSignal.MigrationCancelled.class).hasMessage("cancelled by the test");
        int queries = fake.commands("query-migrate").size();
        Thread.sleep(200);
        assertThat(fake.commands("query-migrate")).hasSize(queries); // it stopped polling
    }

    @Test
    void cancelBeforeTheFirstPollQueriesNothing() {
        script(n -> COMPLETED);
        cancel.cancel("early");
        assertThatThrownBy(monitor(FAST, true, 100)::follow).isInstanceOf(CancelSignal.MigrationCancelled.class)
                .hasMessage("early");
        assertThat(fake.commands("query-migrate")).isEmpty();
    }
}
