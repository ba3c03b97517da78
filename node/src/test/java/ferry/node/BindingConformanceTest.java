package ferry.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.protocol.Binding;
import ferry.protocol.Commands;
import ferry.protocol.Events;
import ferry.qapi.Conformance;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every bound definition against the installed QEMU's own schema (query-qmp-schema). */
class BindingConformanceTest {
    @TempDir
    static Path dir;
    static QemuProcess qemu;
    static Conformance.Report report;

    @BeforeAll
    static void introspect() {
        qemu = QemuProcess.builder(QemuBinary.find(), dir).machine("none").memoryMiB(16).start();
        JsonNode schema = qemu.qmp().execute("query-qmp-schema", null);
        report = Binding.check(schema);
    }

    @AfterAll
    static void stop() {
        if (qemu != null) {
            qemu.close();
        }
    }

    @Test
    void everyBoundCommandAndEventExists() {
        assertThat(report.commandsMissing()).isEmpty();
        assertThat(report.eventsMissing()).isEmpty();
        assertThat(report.commandsBound()).hasSize(Commands.ALL.size());
        assertThat(report.eventsBound()).containsExactlyInAnyOrderElementsOf(Events.TYPES.keySet());
    }

    @Test
    void allTwentyNineMigrationCommandsAreBoundAndPresent() {
        List<String> migration = Binding.schema().definitions(ferry.qapi.CommandDef.class).stream()
                .filter(c -> Binding.schema().fileOf(c.name()).equals("migration.json"))
                .map(ferry.qapi.CommandDef::name).toList();
        assertThat(migration).hasSize(29);
        assertThat(report.commandsPresent()).containsAll(migration);
    }

    /** The recorded differences are exactly what QEMU 10.0 shows: none unlisted, none stale. */
    @Test
    void differencesAreExactlyTheRecordedOnes() {
        assertThat(qemu.qmp().greeting().atLeast(10, 0))
                .as("this test pins QEMU 10.0's differences; found QEMU %s", qemu.qmp().greeting().version()).isTrue();
        Set<String> found = report.differences().stream().map(d -> d.kind() + " " + d.path()).collect(Collectors.toSet());
        Set<String> recorded = Binding.knownDifferences().stream().map(d -> d.kind() + " " + d.path())
                .collect(Collectors.toSet());
        assertThat(found).as("differences QEMU shows that qemu-differences.json does not list")
                .isSubsetOf(recorded);
        assertThat(recorded).as("recorded differences QEMU no longer shows").isSubsetOf(found);
        assertThat(Binding.knownDifferences()).allSatisfy(d -> assertThat(d.reason()).isNotBlank());
    }

    @Test
    void nothingDiffersOutsideMigrationJson() {
        assertThat(report.differences()).allSatisfy(d ->
                assertThat(Binding.COMPLETE_FILES).contains(Binding.schema().fileOf(d.path().split("\\.")[0])));
    }

    @Test
    void onlyInternalTypesAreUnreachable() {
        // types QEMU never shows in introspection because no command or event uses them
        assertThat(report.unreached()).containsExactlyInAnyOrder("CompressionStats", "MigrationParameter",
                "COLOMessage", "FailoverStatus");
    }
}
