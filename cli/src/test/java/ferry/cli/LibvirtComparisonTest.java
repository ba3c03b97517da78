package ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;

class LibvirtComparisonTest {
    private static LibvirtComparison.Run virsh(int rep, String outcome, long wall, Long qemu) {
        return new LibvirtComparison.Run("S1", "virsh", rep, outcome, wall, qemu, 30L, null, 93L << 20, null, null);
    }

    private static LibvirtComparison.Run ferry(int rep, long wall, long qemu, long task) {
        return new LibvirtComparison.Run("S1", "ferry", rep, "completed", wall, qemu, 1L, null, 94L << 20, task, null);
    }

    private static final LibvirtComparison CMP = new LibvirtComparison("libvirt 11.3.0, QEMU 10.0.2", List.of(
            virsh(1, "completed", 4700, 2900L), ferry(1, 4400, 2800, 3300),
            ferry(2, 4600, 2810, 3350), virsh(2, "completed", 4500, 2880L),
            ferry(3, 4200, 2790, 3200), virsh(3, "failed", 900, null)));

    @Test
    void mediansCountOnlyCompletedRuns() {
        // the failed virsh run's 900 ms would make libvirt look quicker than it is
        assertThat(CMP.median("S1", "virsh", LibvirtComparison.Run::wallMs)).isEqualTo(4600);
        assertThat(CMP.median("S1", "ferry", LibvirtComparison.Run::wallMs)).isEqualTo(4400);
        assertThat(CMP.median("S1", "ferry", LibvirtComparison.Run::overheadMs)).isEqualTo(1600);
        assertThat(CMP.median("S3", "ferry", LibvirtComparison.Run::wallMs)).isNull();
    }

    @Test
    void jsonAndMarkdownSetTheToolsSideBySide() {
        JsonNode j = CMP.json();
        assertThat(j.path("runs")).hasSize(6);
        assertThat(j.path("runs").get(1).path("task_ms").asLong()).isEqualTo(3300);
        assertThat(j.path("runs").get(0).has("task_ms")).isTrue();
        assertThat(j.path("runs").get(5).path("overhead_ms").isNull()).isTrue();
        JsonNode m = j.path("medians");
        assertThat(m).hasSize(2);
        assertThat(m.get(0).path("tool").asText()).isEqualTo("virsh");
        assertThat(m.get(1).path("overhead_ms").asLong()).isEqualTo(1600);
        assertThat(CMP.markdown()).contains("| S1 | wall (ms) | 4600 | 4400 | 0.96 |")
                .contains("| S1 | virsh | 3 | failed | 900 | ? | ? | 30 | <50 | 93 |");
    }
}
