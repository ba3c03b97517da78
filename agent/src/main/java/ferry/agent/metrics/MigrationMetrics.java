package ferry.agent.metrics;

import ferry.migration.MigrationResult;
import ferry.migration.Progress;
import ferry.migration.TaskLog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleFunction;

/**
 * The agent's Prometheus metrics. Names follow KubeVirt's {@code kubevirt_vmi_migration_*} family
 * with a {@code ferry_} prefix and the unit in the name; per running migration gauges carry the
 * labels {@code vmid}, {@code source}, {@code target}, {@code policy} and disappear when it ends.
 * Fed from the tasks' progress samples (what the task log's progress line shows), so the
 * migration module knows nothing of Micrometer.
 */
public final class MigrationMetrics {
    /** Buckets of the migration's wall time: seconds to an hour. */
    private static final Duration[] DURATION_BUCKETS = seconds(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600);
    /** Buckets of the guest's downtime: around the budgets people set (100–500 ms) and beyond. */
    private static final Duration[] DOWNTIME_BUCKETS = {Duration.ofMillis(10), Duration.ofMillis(25),
            Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(300),
            Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5)};

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final String node;
    private final AtomicInteger inFlight = new AtomicInteger();

    public MigrationMetrics(String node) {
        this.node = node;
        Gauge.builder("ferry.node.migrations.in.flight", inFlight, AtomicInteger::get)
                .description("Migrations this node's agent runs now (as their source)").register(registry);
    }

    /** A node gauge read at each scrape, e.g. the VMs this node owns in one state. */
    public void nodeGauge(String name, String description, Tags tags, java.util.function.Supplier<Number> value) {
        Gauge.builder(name, value).description(description).tags(tags).register(registry);
    }

    /**
     * Counts a migration that starts here and follows it: its progress samples feed the running
     * gauges and the bytes counter, its end the outcome counter and the histograms.
     */
    public void follow(int vmid, String target, String policy, TaskLog log, CompletionStage<MigrationResult> end) {
        String pol = policy == null ? "unknown" : policy;
        Tags tags = Tags.of("vmid", Integer.toString(vmid), "source", node, "target", target, "policy", pol);
        Counter.builder("ferry.migrations.started").description("Migrations started on this node (as their source)")
                .tags("policy", pol).register(registry).increment();
        inFlight.incrementAndGet();
        Running running = new Running(tags);
        java.util.function.Consumer<Progress> feed = running::take;
        log.followProgress(feed);
        end.whenComplete((result, error) -> {
            log.unfollowProgress(feed);
            running.close(result);
            inFlight.decrementAndGet();
            ended(pol, result);
        });
    }

    private void ended(String policy, MigrationResult r) {
        String outcome = r == null ? "failed" : r.status().wire();
        String pol = r != null && r.policy() != null ? r.policy() : policy;
        if (r != null) {
            recordEnd(r, outcome, pol);
        }
        // last: a scrape that sees the end sees its histograms too
        Counter.builder("ferry.migrations.ended").description("Migrations that ended, by outcome and policy")
                .tags("outcome", outcome, "policy", pol).register(registry).increment();
    }

    private void recordEnd(MigrationResult r, String outcome, String pol) {
        Timer.builder("ferry.migration.duration").description("Wall time of a migration, preparation to hand-over")
                .tags("outcome", outcome, "policy", pol).serviceLevelObjectives(DURATION_BUCKETS).register(registry)
                .record(Duration.ofMillis(r.durationMs()));
        if (r.downtimeMs() != null) {
            Timer.builder("ferry.migration.downtime").description("The guest's downtime as QEMU reported it")
                    .tags("policy", pol).serviceLevelObjectives(DOWNTIME_BUCKETS).register(registry)
                    .record(Duration.ofMillis(r.downtimeMs()));
        }
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() {
        return registry.scrape();
    }

    /** The content type of {@link #scrape()}'s text. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    /** The gauges of one running migration, made at its first sample; its last sample is what they read. */
    private final class Running {
        private final List<Meter> meters = new ArrayList<>();
        private final Tags tags;
        private final Counter sent;
        private volatile Progress last;
        private long counted;

        Running(Tags tags) {
            this.tags = tags;
            sent = Counter.builder("ferry.migration.data.processed").baseUnit("bytes")
                    .description("Bytes of VM state sent by migrations from this node").tags("policy",
                            tags.stream().filter(t -> t.getKey().equals("policy")).findFirst().orElseThrow().getValue())
                    .register(registry);
        }

        private void register() {
            gauge("ferry.vmi.migration.data.remaining", "bytes", "Bytes of VM state still to send", tags,
                    Progress::remaining);
            gauge("ferry.vmi.migration.data.processed", "bytes", "Bytes of VM state sent so far", tags,
                    Progress::transferred);
            gauge("ferry.vmi.migration.data.total", "bytes", "The VM state's size (RAM, or the disks while they mirror)",
                    tags, Progress::total);
            gauge("ferry.vmi.migration.memory.transfer.rate", "bytes.per.second", "Link rate over the last poll", tags,
                    Progress::bytesPerSecond);
            gauge("ferry.vmi.migration.dirty.memory.rate", "bytes.per.second",
                    "The guest's dirty rate as QEMU measured it at its last sync", tags, Progress::dirtyBytesPerSecond);
            gauge("ferry.vmi.migration.throttle", "percent", "How much auto-converge slows the guest's vCPUs", tags,
                    Progress::throttlePercent);
            gauge("ferry.vmi.migration.downtime.limit", "seconds", "QEMU's downtime limit as the policy set it", tags,
                    p -> p.downtimeLimitMs() / 1000.0);
            gauge("ferry.vmi.migration.expected.downtime", "seconds", "QEMU's estimate of the downtime if it switched now",
                    tags, p -> p.expectedDowntimeMs() / 1000.0);
            gauge("ferry.vmi.migration.progress", "percent", "Share of the work done; never goes back", tags,
                    Progress::percent);
            gauge("ferry.vmi.migration.dirty.sync.passes", null, "QEMU's dirty-sync count (passes over RAM)", tags,
                    Progress::pass);
        }

        private void gauge(String name, String unit, String description, Tags tags, ToDoubleFunction<Progress> read) {
            meters.add(Gauge.builder(name, this, r -> r.last == null ? Double.NaN : read.applyAsDouble(r.last))
                    .baseUnit(unit).description(description).tags(tags).register(registry));
        }

        synchronized void take(Progress p) {
            if (last == null) {
                last = p;
                register();
            }
            // disk mirrors and RAM count their bytes separately: each phase's counter starts at 0
            boolean samePhase = last != null && last.phase().equals("disks") == p.phase().equals("disks");
            long before = samePhase ? counted : 0;
            if (p.transferred() > before) {
                sent.increment(p.transferred() - before);
            }
            counted = Math.max(before, p.transferred());
            last = p;
        }

        /** Counts the bytes sent after the last sample, then drops the gauges. */
        synchronized void close(MigrationResult r) {
            if (r != null && r.transferredBytes() != null && last != null && !last.phase().equals("disks")
                    && r.transferredBytes() > counted) {
                sent.increment(r.transferredBytes() - counted);
            }
            meters.forEach(registry::remove);
        }
    }

    private static Duration[] seconds(int... s) {
        Duration[] d = new Duration[s.length];
        for (int i = 0; i < s.length; i++) {
            d[i] = Duration.ofSeconds(s[i]);
        }
        return d;
    }
}
