package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.node.QemuProcess;
import ferry.protocol.Commands;
import ferry.protocol.MigrateSetCapabilitiesArgs;
import ferry.protocol.MigrationCapability;
import ferry.protocol.MigrationCapabilityStatus;
import ferry.protocol.MigrationInfo;
import ferry.protocol.RunState;
import ferry.qmp.QmpCommandException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code query-migrate} on fresh VMs, and every migration capability QEMU lists, on and off again. */
@Timeout(120)
class MigrationCapabilitiesTest {
    /**
     * Capabilities this host cannot enable, with the reason QEMU gives (a substring of its error).
     * The test fails if QEMU refuses a capability not listed here, or accepts one that is.
     */
    static final Map<String, String> HOST_CANNOT_ENABLE = Map.of(
            "dirty-limit", "dirty-limit requires KVM with accelerator property 'dirty-ring-size' set");

    /** Capabilities QEMU accepts only together with others, and the reason it gives when alone. */
    record Prerequisite(List<String> needs, String refusalAlone) {}

    static final Map<String, Prerequisite> PREREQUISITES = Map.of(
            "postcopy-preempt", new Prerequisite(List.of("postcopy-ram"), "Postcopy preempt requires postcopy-ram"),
            "switchover-ack", new Prerequisite(List.of("return-path"),
                    "Capability 'switchover-ack' requires capability 'return-path'"),
            "zero-copy-send", new Prerequisite(List.of("multifd"),
                    "Zero copy only available for non-compressed non-TLS multifd migration"));

    @TempDir Path dir;

    @Test
    void queryMigrateOnFreshVmsReportsNoMigration() {
        try (MigrationPair p = MigrationPair.start(dir)) {
            for (QemuProcess q : List.of(p.source, p.target)) {
                MigrationInfo typed = MigrationPair.info(q);
                assertThat(typed).as("typed query-migrate of " + q)
                        .isEqualTo(MigrationInfo.builder().build());
                assertThat(MigrationPair.rawCall(q, "query-migrate", null)).as("raw query-migrate").isEmpty();
            }
            assertThat(MigrationPair.status(p.source).status()).isEqualTo(RunState.RUNNING);
            assertThat(MigrationPair.status(p.target).status()).isEqualTo(RunState.INMIGRATE);
            assertThat(MigrationPair.status(p.target).running()).isFalse();
        }
    }

    @Test
    void everyCapabilityTurnsOnAndOffAgain() {
        try (MigrationPair p = MigrationPair.sourceOnly(dir, MigrationPair.GUEST)) {
            QemuProcess q = p.source;
            Map<String, Boolean> initial = rawCapabilities(q);
            List<String> names = new ArrayList<>(initial.keySet());
            System.out.println("QEMU lists " + names.size() + " migration capabilities: " + names);
            assertThat(initial.values()).as("all capabilities start off").containsOnly(false);

            // The typed reply decodes the same list, a newer value as UNRECOGNIZED.
            List<MigrationCapabilityStatus> typed = q.qmp().call(Commands.QUERY_MIGRATE_CAPABILITIES);
            assertThat(typed.stream().map(MigrationCapabilityStatus::capability).toList())
                    .containsExactlyElementsOf(names.stream().map(MigrationCapability::fromWire).toList());
            // What QEMU has beyond the binding, and what the binding has beyond QEMU, are exactly the recorded differences.
            Set<String> known = Arrays.stream(MigrationCapability.values()).filter(c -> c.wire() != null)
                    .map(MigrationCapability::wire).collect(Collectors.toCollection(TreeSet::new));
            Set<String> unknown = names.stream().filter(n -> !known.contains(n)).collect(Collectors.toCollection(TreeSet::new));
            assertThat(unknown).as("capabilities unknown to the binding").isEqualTo(QemuDifferences.names("MigrationCapability", "EXTRA"));
            Set<String> missing = known.stream().filter(n -> !names.contains(n)).collect(Collectors.toCollection(TreeSet::new));
            assertThat(missing).as("binding capabilities QEMU no longer has")
                    .isEqualTo(QemuDifferences.names("MigrationCapability", "MISSING"));
            for (String gone : missing) {
                assertThatThrownBy(() -> set(q, List.of(gone), true)).isInstanceOfSatisfying(QmpCommandException.class,
                        e -> assertThat(e.description()).isEqualTo("Parameter 'capability' does not accept value '" + gone + "'"));
            }

            assertThat(HOST_CANNOT_ENABLE.keySet()).as("listed capabilities QEMU does not have").isSubsetOf(names);
            assertThat(PREREQUISITES.keySet()).isSubsetOf(names);
            Map<String, String> refused = new TreeMap<>();
            for (String cap : names) {
                String reasonAlone = trySet(q, List.of(cap));
                if (reasonAlone == null) {
                    assertOnly(q, names, Set.of(cap));
                    set(q, List.of(cap), false);
                } else if (PREREQUISITES.containsKey(cap)) {
                    Prerequisite pre = PREREQUISITES.get(cap);
                    assertThat(reasonAlone).as(cap + " alone").isEqualTo(pre.refusalAlone());
                    List<String> together = new ArrayList<>(pre.needs());
                    together.add(cap);
                    String reasonTogether = trySet(q, together);
                    assertThat(reasonTogether).as(cap + " with " + pre.needs()).isNull();
                    assertOnly(q, names, Set.copyOf(together));
                    set(q, List.of(cap), false); // the dependent one first, or QEMU refuses to drop the prerequisite
                    set(q, pre.needs(), false);
                } else {
                    refused.put(cap, reasonAlone);
                    System.out.println("SKIPPED capability " + cap + ": " + reasonAlone);
                }
                assertOnly(q, names, Set.of());
            }
            assertThat(PREREQUISITES.keySet()).as("capabilities that needed a prerequisite")
                    .allSatisfy(c -> assertThat(refused).doesNotContainKey(c));
            assertThat(refused.keySet()).as("capabilities QEMU refused on this host (update HOST_CANNOT_ENABLE)")
                    .isEqualTo(HOST_CANNOT_ENABLE.keySet());
            refused.forEach((cap, reason) -> assertThat(reason).as(cap).contains(HOST_CANNOT_ENABLE.get(cap)));
        }
    }

    @Test
    void droppingAPrerequisiteWhileItsDependentIsOnIsRefused() {
        try (MigrationPair p = MigrationPair.sourceOnly(dir, MigrationPair.GUEST)) {
            set(p.source, List.of("postcopy-ram", "postcopy-preempt"), true);
            String reason = trySet(p.source, List.of("postcopy-ram"), false);
            assertThat(reason).isEqualTo("Postcopy preempt requires postcopy-ram");
            assertThat(rawCapabilities(p.source)).containsEntry("postcopy-ram", true).containsEntry("postcopy-preempt", true);
        }
    }

    // ---- helpers -------------------------------------------------------------------------------

    /** Name to state, in QEMU's order, from the raw reply (so capabilities the binding lacks are kept). */
    static Map<String, Boolean> rawCapabilities(QemuProcess q) {
        Map<String, Boolean> out = new LinkedHashMap<>();
        for (JsonNode c : MigrationPair.rawCall(q, "query-migrate-capabilities", null)) {
            out.put(c.path("capability").asText(), c.path("state").asBoolean());
        }
        return out;
    }

    /** Checks with both the raw and the typed reply that exactly {@code on} is enabled. */
    private static void assertOnly(QemuProcess q, List<String> names, Set<String> on) {
        Map<String, Boolean> raw = rawCapabilities(q);
        assertThat(raw.keySet()).containsExactlyElementsOf(names);
        assertThat(raw.entrySet().stream().filter(Map.Entry::getValue).map(Map.Entry::getKey).collect(Collectors.toSet()))
                .as("enabled capabilities").isEqualTo(on);
        List<MigrationCapabilityStatus> typed = q.qmp().call(Commands.QUERY_MIGRATE_CAPABILITIES);
        for (MigrationCapabilityStatus s : typed) {
            if (s.capability() != MigrationCapability.UNRECOGNIZED) {
                assertThat(s.state()).as("typed state of " + s.capability().wire()).isEqualTo(on.contains(s.capability().wire()));
            }
        }
    }

    /** Sets capabilities, typed when the binding knows them all, else with raw JSON. */
    static void set(QemuProcess q, List<String> caps, boolean state) {
        List<MigrationCapability> typed = caps.stream().map(MigrationCapability::fromWire).toList();
        if (!typed.contains(MigrationCapability.UNRECOGNIZED)) {
            q.qmp().call(Commands.MIGRATE_SET_CAPABILITIES, MigrateSetCapabilitiesArgs.builder()
                    .capabilities(typed.stream().map(c -> new MigrationCapabilityStatus(c, state)).toList()).build());
            return;
        }
        ObjectNode args = MigrationPair.json();
        ArrayNode list = args.putArray("capabilities");
        caps.forEach(c -> list.addObject().put("capability", c).put("state", state));
        q.qmp().execute("migrate-set-capabilities", args);
    }

    /** Null if QEMU accepted, else its error description (the error class must be GenericError). */
    private static String trySet(QemuProcess q, List<String> caps) {
        return trySet(q, caps, true);
    }

    private static String trySet(QemuProcess q, List<String> caps, boolean state) {
        try {
            set(q, caps, state);
            return null;
        } catch (QmpCommandException e) {
            if (!e.errorClass().equals("GenericError")) {
                fail("unexpected error class for " + caps + ": " + e.getMessage());
            }
            return e.description();
        }
    }
}
