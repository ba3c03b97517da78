package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.node.NodeException;
import ferry.node.QemuBinary;
import ferry.node.QemuProcess;
import ferry.protocol.Binding;
import ferry.qapi.Conformance;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The binding against Debian's QEMU 7.2 (the test kit unpacks it): what 7.2 lacks is exactly what
 * qemu-7.2-differences.json records, each with the release that brought it; the same check the
 * node module's BindingConformanceTest makes against the installed QEMU 10.
 */
class BindingConformance72Test {
    @TempDir
    static Path dir;
    static QemuProcess qemu;
    static Conformance.Report report;

    @BeforeAll
    static void introspect() {
        QemuBinary q72;
        try {
            q72 = Qemu72.provide();
        } catch (NodeException e) {
            System.out.println("BindingConformance72Test skipped: " + e.getMessage());
            Assumptions.abort(e.getMessage());
            return;
        }
        qemu = QemuProcess.builder(q72, dir).machine("none").memoryMiB(16).start();
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
    void missingCommandsAreTheRecordedOnes() {
        assertThat(qemu.qmp().greeting().version()).startsWith("7.2");
        assertThat(report.commandsMissing()).containsExactlyInAnyOrderElementsOf(Binding.commandsMissingIn("7.2"));
        assertThat(report.eventsMissing()).isEmpty();
    }

    @Test
    void differencesAreExactlyTheRecordedOnes() {
        Set<String> found = report.differences().stream().map(d -> d.kind() + " " + d.path())
                .collect(Collectors.toCollection(java.util.TreeSet::new));
        Set<String> recorded = Binding.knownDifferences("7.2").stream().map(d -> d.kind() + " " + d.path())
                .collect(Collectors.toSet());
        report.differences().forEach(d -> System.out.println("7.2 difference: " + d));
        assertThat(found).as("differences QEMU 7.2 shows that qemu-7.2-differences.json does not list")
                .isSubsetOf(recorded);
        assertThat(recorded).as("recorded differences QEMU 7.2 does not show").isSubsetOf(found);
        assertThat(Binding.knownDifferences("7.2")).allSatisfy(d -> assertThat(d.reason()).isNotBlank());
    }
}
