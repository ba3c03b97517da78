package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.node.QemuProcess;
import ferry.protocol.BitmapMigrationBitmapAlias;
import ferry.protocol.BitmapMigrationBitmapAliasTransform;
import ferry.protocol.BitmapMigrationNodeAlias;
import ferry.protocol.Commands;
import ferry.protocol.MigMode;
import ferry.protocol.MigrateSetParameters;
import ferry.protocol.MigrationParameters;
import ferry.protocol.MultiFDCompression;
import ferry.protocol.StrOrNull;
import ferry.qapi.QapiJson;
import ferry.qmp.QmpCommandException;
import java.lang.reflect.RecordComponent;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code migrate-set-parameters} and {@code query-migrate-parameters}: every member, read back field by field. */
@Timeout(120)
class MigrationParametersTest {
    private static final long MIB = 1 << 20;

    /** A valid, non-default value for every member of MigrateSetParameters that QEMU 10 has. */
    static final MigrateSetParameters ALL = MigrateSetParameters.builder()
            .announceInitial(big(60)).announceMax(big(600)).announceRounds(big(7)).announceStep(big(120))
            .throttleTriggerThreshold(60).cpuThrottleInitial(30).cpuThrottleIncrement(15).cpuThrottleTailslow(true)
            .tlsCreds(new StrOrNull.S("ferry-tls0")).tlsHostname(new StrOrNull.S("target.example"))
            .tlsAuthz(new StrOrNull.S("ferry-authz0"))
            .maxBandwidth(big(64 * MIB)).availSwitchoverBandwidth(big(32 * MIB)).downtimeLimit(big(450))
            .xCheckpointDelay(15_000L).multifdChannels(4).xbzrleCacheSize(big(32 * MIB))
            .maxPostcopyBandwidth(big(16 * MIB)).maxCpuThrottle(90)
            .multifdCompression(MultiFDCompression.ZSTD).multifdZlibLevel(6).multifdZstdLevel(9)
            .blockBitmapMapping(List.of(BitmapMigrationNodeAlias.builder().nodeName("disk0").alias("node-alias0")
                    .bitmaps(List.of(BitmapMigrationBitmapAlias.builder().name("bitmap0").alias("bitmap-alias0")
                            .transform(BitmapMigrationBitmapAliasTransform.builder().persistent(true).build()).build()))
                    .build()))
            .xVcpuDirtyLimitPeriod(big(500)).vcpuDirtyLimit(big(2)).mode(MigMode.CPR_REBOOT)
            .build();

    /** QEMU 10 parameters the binding lacks (recorded as EXTRA), set with raw JSON: name to a non-default value. */
    static final Map<String, Object> EXTRA = Map.of(
            "direct-io", true,
            "zero-page-detection", "legacy",
            "multifd-qatzip-level", 5);

    @TempDir Path dir;

    @Test
    void everyParameterReadsBackAsSet() {
        try (MigrationPair p = MigrationPair.sourceOnly(dir, MigrationPair.GUEST)) {
            QemuProcess q = p.source;
            MigrationParameters before = q.qmp().call(Commands.QUERY_MIGRATE_PARAMETERS);
            Set<String> missing = QemuDifferences.names("MigrateSetParameters", "MISSING");
            Map<String, Object> expected = expectations(ALL, missing);
            System.out.println("setting " + expected.size() + " migration parameters: " + expected.keySet());

            Map<String, Object> defaults = values(before);
            expected.forEach((name, want) -> assertThat(defaults.get(name)).as("default of " + name + " (pick another test value)")
                    .isNotEqualTo(want));
            missing.forEach(name -> assertThat(defaults.get(name)).as(name + " is gone in QEMU 10, so it is never reported").isNull());

            q.qmp().call(Commands.MIGRATE_SET_PARAMETERS, ALL);
            MigrationParameters after = q.qmp().call(Commands.QUERY_MIGRATE_PARAMETERS);
            Map<String, Object> got = values(after);
            expected.forEach((name, want) -> assertThat(got.get(name)).as(name).isEqualTo(want));
            // Nothing else changed.
            defaults.forEach((name, old) -> {
                if (!expected.containsKey(name)) {
                    assertThat(got.get(name)).as("untouched " + name).isEqualTo(old);
                }
            });

            // tls-* take JSON null (StrOrNull) to reset, and then read back as empty strings.
            q.qmp().call(Commands.MIGRATE_SET_PARAMETERS, MigrateSetParameters.builder()
                    .tlsCreds(new StrOrNull.N()).tlsHostname(new StrOrNull.N()).tlsAuthz(new StrOrNull.N()).build());
            MigrationParameters reset = q.qmp().call(Commands.QUERY_MIGRATE_PARAMETERS);
            assertThat(reset.tlsCreds()).isEmpty();
            assertThat(reset.tlsHostname()).isEmpty();
            assertThat(reset.tlsAuthz()).isEmpty();
            assertThat(reset.multifdZstdLevel()).isEqualTo(9);
        }
    }

    @Test
    void parametersQemu10AddedReadBackAsSetWithRawJson() {
        assertThat(EXTRA.keySet()).as("QEMU 10 parameters the binding lacks")
                .isEqualTo(QemuDifferences.names("MigrateSetParameters", "EXTRA"))
                .isEqualTo(QemuDifferences.names("MigrationParameters", "EXTRA"));
        try (MigrationPair p = MigrationPair.sourceOnly(dir, MigrationPair.GUEST)) {
            JsonNode before = MigrationPair.rawCall(p.source, "query-migrate-parameters", null);
            ObjectNode args = QapiJson.mapper().valueToTree(EXTRA);
            args.fields().forEachRemaining(e -> assertThat(before.get(e.getKey())).as("default of " + e.getKey())
                    .isNotNull().isNotEqualTo(e.getValue()));
            p.source.qmp().execute("migrate-set-parameters", args);
            JsonNode after = MigrationPair.rawCall(p.source, "query-migrate-parameters", null);
            args.fields().forEachRemaining(e -> assertThat(after.get(e.getKey())).as(e.getKey()).isEqualTo(e.getValue()));
            // The typed reply ignores them and still decodes.
            assertThat(p.source.qmp().call(Commands.QUERY_MIGRATE_PARAMETERS).multifdChannels()).isEqualTo(2);
        }
    }

    @Test
    void parametersGoneInQemu10AndOutOfRangeValuesAreRefused() {
        try (MigrationPair p = MigrationPair.sourceOnly(dir, MigrationPair.GUEST)) {
            Set<String> missing = QemuDifferences.names("MigrateSetParameters", "MISSING");
            assertThat(missing).containsExactlyInAnyOrder("block-incremental", "compress-level", "compress-threads",
                    "compress-wait-thread", "decompress-threads");
            for (String name : missing) {
                RecordComponent c = component(MigrateSetParameters.class, name);
                ObjectNode args = MigrationPair.json();
                if (c.getType() == Boolean.class) {
                    args.put(name, true);
                } else {
                    args.put(name, 1);
                }
                assertRefused(p.source, args, "Parameter '" + name + "' is unexpected");
            }
            assertRefused(p.source, MigrationPair.json().put("cpu-throttle-initial", 0),
                    "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99");
            assertRefused(p.source, MigrationPair.json().put("multifd-channels", 0),
                    "Parameter 'multifd_channels' expects a value between 1 and 255");
            assertRefused(p.source, MigrationPair.json().put("xbzrle-cache-size", 1000),
                    "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size");
            assertRefused(p.source, MigrationPair.json().put("multifd-compression", "qpl"),
                    "Parameter 'multifd-compression' does not accept value 'qpl'");
        }
    }

    // ---- helpers -------------------------------------------------------------------------------

    private static void assertRefused(QemuProcess q, ObjectNode args, String reason) {
        assertThatThrownBy(() -> q.qmp().execute("migrate-set-parameters", args)).as(args.toString())
                .isInstanceOfSatisfying(QmpCommandException.class, e -> {
                    assertThat(e.errorClass()).isEqualTo("GenericError");
                    assertThat(e.description()).isEqualTo(reason);
                });
    }

    /**
     * What query-migrate-parameters must report for each member set in {@code set}, by wire name:
     * StrOrNull strings as plain strings. Fails if a member is unset but QEMU 10 has it, so a new
     * member of the binding cannot be forgotten here.
     */
    private static Map<String, Object> expectations(MigrateSetParameters set, Set<String> missingInQemu) {
        Map<String, Object> out = new LinkedHashMap<>();
        Set<String> readable = new TreeSet<>();
        for (RecordComponent c : MigrationParameters.class.getRecordComponents()) {
            readable.add(wireName(c));
        }
        for (RecordComponent c : MigrateSetParameters.class.getRecordComponents()) {
            String name = wireName(c);
            Object v = get(c, set);
            if (missingInQemu.contains(name)) {
                assertThat(v).as(name + " is gone in QEMU 10; do not set it").isNull();
                continue;
            }
            assertThat(v).as("test value for " + name).isNotNull();
            assertThat(readable).as("MigrationParameters reads back " + name).contains(name);
            out.put(name, v instanceof StrOrNull.S s ? s.value() : v);
        }
        return out;
    }

    /** Every member of a typed query-migrate-parameters reply, by wire name (absent ones as null). */
    private static Map<String, Object> values(MigrationParameters p) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (RecordComponent c : MigrationParameters.class.getRecordComponents()) {
            out.put(wireName(c), get(c, p));
        }
        return out;
    }

    private static RecordComponent component(Class<?> type, String wire) {
        for (RecordComponent c : type.getRecordComponents()) {
            if (wireName(c).equals(wire)) {
                return c;
            }
        }
        throw new AssertionError(type.getSimpleName() + " has no member " + wire);
    }

    static String wireName(RecordComponent c) {
        JsonProperty p = c.getAccessor().getAnnotation(JsonProperty.class);
        return p != null && !p.value().isEmpty() ? p.value() : c.getName();
    }

    static Object get(RecordComponent c, Object record) {
        try {
            return c.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("cannot read " + c.getName(), e);
        }
    }

    private static BigInteger big(long v) {
        return BigInteger.valueOf(v);
    }
}
