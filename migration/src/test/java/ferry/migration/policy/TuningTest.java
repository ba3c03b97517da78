package ferry.migration.policy;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.migration.MigrationRequest;
import ferry.migration.Plan;
import ferry.migration.Tuning;
import ferry.migration.qemu.QemuFeatures;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The tuning's own checks and how it lands on top of a policy's setup, without QEMU. */
class TuningTest {
    static final MigrationRequest.Limits NOTHING = MigrationRequest.Limits.DEFAULTS;
    static final MigrationRequest.Limits THROTTLE = new MigrationRequest.Limits(null, true, false, false, null);
    static final MigrationRequest.Limits POSTCOPY = new MigrationRequest.Limits(null, false, true, false, null);
    /** What QEMU 10.0 offers, and what QEMU 7.2 (bookworm's own) lacks of it. */
    static final Set<String> QEMU10_CAPS = Set.copyOf(StreamSetup.MANAGED);
    static final Set<String> QEMU10_PARAMS = Set.of("multifd-channels", "multifd-compression", "multifd-zstd-level",
            "multifd-zlib-level", "zero-page-detection", "avail-switchover-bandwidth", "xbzrle-cache-size");
    static final QemuFeatures QEMU10 = new QemuFeatures("a", "10.0.2", QEMU10_CAPS, QEMU10_PARAMS,
            Set.of("none", "zlib", "zstd"));
    static final QemuFeatures QEMU72 = new QemuFeatures("a", "7.2.0",
            Set.of("events", "xbzrle", "auto-converge", "postcopy-ram", "multifd", "return-path",
                    "pause-before-switchover"),
            Set.of("multifd-channels", "multifd-compression", "multifd-zlib-level", "xbzrle-cache-size"),
            Set.of("none", "zlib"));

    static Tuning multifd(int channels, String compression) {
        return new Tuning(channels, compression, null, null, null, null, false, false, null, false, null);
    }

    @Test
    void valuesAreCheckedOnTheirOwn() {
        assertThat(Tuning.NONE.problems()).isEmpty();
        assertThat(multifd(0, null).problems()).singleElement().asString().contains("between 1 and 255");
        assertThat(multifd(4, "lz4").problems()).singleElement().asString().contains("unknown compression 'lz4'")
                .contains("none, zlib, zstd");
        assertThat(new Tuning(null, "zstd", null, null, null, null, false, false, null, false, null).problems())
                .singleElement().asString().contains("needs multifd").contains("--multifd");
        assertThat(new Tuning(2, "zlib", 12, null, null, null, false, false, null, false, null).problems())
                .singleElement().asString().contains("between 0 and 9");
        assertThat(new Tuning(null, null, null, "sometimes", null, null, false, false, null, false, null).problems())
                .singleElement().asString().contains("zero-page detection");
        assertThat(new Tuning(null, null, null, null, false, 64, false, false, null, false, null).problems())
                .singleElement().asString().contains("xbzrle turned off");
        assertThat(new Tuning(null, null, null, null, null, null, false, false, 0, false, "fast").problems())
                .hasSize(2);
    }

    @Test
    void multifdIsRefusedWhereItsOvershootWouldBreakTheLimit() {
        assertThat(multifd(4, null).multifdOvershoot(null)).as("no limit").isNull();
        assertThat(multifd(4, null).multifdOvershoot(80)).isNull();
        assertThat(multifd(4, null).multifdOvershoot(79)).contains("--multifd 4 cannot keep a limit of 79 MiB/s")
                .contains("20 MiB/s in all").contains("at most 3 channels").contains("at least 80 MiB/s");
        assertThat(Tuning.NONE.multifdOvershoot(1)).isNull();
    }

    @Test
    void combinationsQemuRefusesAreNamedWithTheOptionsThatCollide() {
        Set<String> classic = Policies.turnsOn("classic", NOTHING);
        assertThat(classic).contains("xbzrle", "auto-converge");
        assertThat(multifd(4, null).conflicts("classic", NOTHING, classic)).singleElement().asString()
                .contains("policy classic turns xbzrle on").contains("--no-xbzrle");
        Tuning noXbzrle = new Tuning(4, null, null, null, false, null, false, false, null, false, null);
        assertThat(noXbzrle.conflicts("classic", NOTHING, classic)).isEmpty();

        Set<String> postcopy = Policies.turnsOn("budget", POSTCOPY);
        assertThat(postcopy).contains("postcopy-ram");
        assertThat(multifd(2, null).conflicts("budget", POSTCOPY, postcopy)).singleElement().asString()
                .contains("postcopy over multifd").contains("--allow-postcopy");

        Tuning both = new Tuning(2, null, null, null, true, null, false, false, null, false, null);
        assertThat(both.conflicts("budget", NOTHING, Policies.turnsOn("budget", NOTHING))).singleElement().asString()
                .contains("xbzrle with multifd");

        Tuning dirtyLimit = new Tuning(null, null, null, null, null, null, false, false, null, false, "dirty-limit");
        assertThat(dirtyLimit.conflicts("budget", NOTHING, Set.of())).singleElement().asString()
                .contains("--allow-throttle");
        assertThat(dirtyLimit.conflicts("budget", THROTTLE, Set.of())).isEmpty();
    }

    @Test
    void theTuningLandsOnThePolicyAndEveryManagedCapabilityIsSetExplicitly() {
        var budget = new BudgetPolicy(context(NOTHING)).setup();
        Tuning t = new Tuning(4, "zstd", 3, "multifd", null, null, true, false, 200, true, null);
        StreamSetup s = StreamSetup.of(budget, t, QEMU10, 16L << 20);
        assertThat(s.sourceCaps()).containsEntry("multifd", true).containsEntry("switchover-ack", true)
                .containsEntry("return-path", true).containsEntry("pause-before-switchover", true)
                .containsEntry("xbzrle", false).containsEntry("postcopy-ram", false).containsEntry("events", true)
                .containsOnlyKeys(StreamSetup.MANAGED);
        assertThat(s.sourceParams().path("multifd-channels").asInt()).isEqualTo(4);
        assertThat(s.sourceParams().path("multifd-compression").asText()).isEqualTo("zstd");
        assertThat(s.sourceParams().path("multifd-zstd-level").asInt()).isEqualTo(3);
        assertThat(s.sourceParams().path("zero-page-detection").asText()).isEqualTo("multifd");
        assertThat(s.sourceParams().path("avail-switchover-bandwidth").asLong()).isEqualTo(200L << 20);
        assertThat(s.sourceParams().path("downtime-limit").asLong()).as("the policy's own").isEqualTo(100);
        assertThat(s.targetCaps()).containsExactly("events", "multifd", "return-path", "switchover-ack");
        assertThat(s.targetParams().path("multifd-channels").asInt()).isEqualTo(4);
        assertThat(s.targetParams().path("multifd-compression").asText()).isEqualTo("zstd");
        assertThat(s.targetParams().size()).as("the level is the sender's business").isEqualTo(2);
        assertThat(s.summary()).contains("multifd 4 channels, zstd compression level 3").contains("switchover-ack")
                .contains("pause-before-switchover");

        StreamSetup plain = StreamSetup.of(budget, Tuning.NONE, QEMU10, 16L << 20);
        assertThat(plain.sourceCaps()).containsEntry("multifd", false);
        assertThat(plain.sourceParams().path("avail-switchover-bandwidth").asLong())
                .as("back to QEMU's own estimate").isZero();
        assertThat(plain.targetParams().isEmpty()).isTrue();
        assertThat(plain.summary()).isEmpty();
    }

    @Test
    void xbzrleCacheFollowsTheWorkingSetUnlessTheUserOrThePolicyChose() {
        var budget = new BudgetPolicy(context(NOTHING)).setup();
        Tuning on = new Tuning(null, null, null, null, true, null, false, false, null, false, null);
        StreamSetup measured = StreamSetup.of(budget, on, QEMU10, 32L << 20);
        assertThat(measured.sourceCaps()).containsEntry("xbzrle", true);
        assertThat(measured.sourceParams().path("xbzrle-cache-size").asLong()).isEqualTo(32L << 20);
        assertThat(measured.summary()).contains("measured working set");

        Tuning sized = new Tuning(null, null, null, null, true, 100, false, false, null, false, null);
        assertThat(StreamSetup.of(budget, sized, QEMU10, 32L << 20).sourceParams().path("xbzrle-cache-size").asLong())
                .as("rounded down to QEMU's power of two").isEqualTo(64L << 20);

        var classic = new ClassicPolicy(context(NOTHING)).setup();
        assertThat(StreamSetup.of(classic, Tuning.NONE, QEMU10, 32L << 20).sourceParams().path("xbzrle-cache-size")
                .asLong()).as("the seed's tenth of 1 GiB").isEqualTo(64L << 20);
        Tuning off = new Tuning(null, null, null, null, false, null, false, false, null, false, null);
        assertThat(StreamSetup.of(classic, off, QEMU10, 32L << 20).sourceCaps()).containsEntry("xbzrle", false);
    }

    @Test
    void cacheSizeIsAPowerOfTwoBetweenFourMiBAndHalfTheRam() {
        long ram = 1L << 30;
        assertThat(StreamSetup.cacheSize(0, ram)).isEqualTo(4L << 20);
        assertThat(StreamSetup.cacheSize(5L << 20, ram)).isEqualTo(8L << 20);
        assertThat(StreamSetup.cacheSize(64L << 20, ram)).isEqualTo(64L << 20);
        assertThat(StreamSetup.cacheSize(900L << 20, ram)).isEqualTo(512L << 20);
        // S2-like: 16 MiB/s dirtied while 256 MiB (half zero) cross a 32 MiB/s link: 4 s -> 64 MiB
        Plan plan = Plan.of(new Plan.Inputs(256L << 20, 0.5, 16 << 20, 128L << 20, 32 << 20, "limit", 300, 60_000,
                false, false, false));
        assertThat(StreamSetup.xbzrleCacheFor(plan, 256)).isEqualTo(64L << 20);
        assertThat(StreamSetup.xbzrleCacheFor(null, 256)).as("no measurement: the seed's tenth").isEqualTo(16L << 20);
    }

    @Test
    void anOlderQemuSaysWhatItLacksAndWhichOptionNeedsIt() {
        Tuning t = new Tuning(4, "zstd", null, "multifd", null, null, true, false, 100, false, "dirty-limit");
        assertThat(QEMU10.lacks(t)).isEmpty();
        List<String> lacks = QEMU72.lacks(t);
        assertThat(lacks).anySatisfy(l -> assertThat(l).contains("QEMU 7.2.0 on node 'a'")
                .contains("without zstd compression (--compress)").contains("offers none, zlib"));
        assertThat(lacks).anySatisfy(l -> assertThat(l).contains("'zero-page-detection' (--zero-page-detection)")
                .contains("QEMU 9.0 and newer"));
        assertThat(lacks).anySatisfy(l -> assertThat(l).contains("'switchover-ack' (--switchover-ack)"));
        assertThat(lacks).anySatisfy(l -> assertThat(l).contains("'avail-switchover-bandwidth'"));
        assertThat(lacks).anySatisfy(l -> assertThat(l).contains("'dirty-limit' (--throttle dirty-limit)"));
        assertThat(lacks).hasSize(5);
    }

    private static Policies.Context context(MigrationRequest.Limits limits) {
        return new Policies.Context(1024, 2, 32L << 20, null, 60_000, limits, QEMU10_CAPS, QEMU10_CAPS, false);
    }
}
