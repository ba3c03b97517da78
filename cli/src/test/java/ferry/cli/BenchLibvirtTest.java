package ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.cli.libvirt.LibvirtPair;
import ferry.testkit.LinuxStressGuest;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ferry bench --libvirt} against the real libvirt (installed with scripts/install-deps --libvirt). */
class BenchLibvirtTest {
    @TempDir
    Path tmp;

    @Test
    @Tag("long")
    void virshAndFerryMigrateTheSameGuestSideBySide() {
        String reason = LibvirtPair.unavailableReason();
        if (reason != null) {
            System.out.println("SKIPPED BenchLibvirtTest: " + reason);
        }
        Assumptions.assumeTrue(reason == null, reason);
        Assumptions.assumeTrue(LinuxStressGuest.available(), LinuxStressGuest::unavailableReason);

        FerryCli.Run r = FerryCli.ferry("bench", "--libvirt", "--scenario", "S1", "--reps", "1", "--json",
                "--out", tmp.toString());

        assertThat(r.code()).as(r.both()).isZero();
        JsonNode cmp = r.json().path("libvirt");
        assertThat(cmp.path("versions").asText()).startsWith("libvirt ");
        assertThat(cmp.path("runs")).hasSize(2);
        for (JsonNode run : cmp.path("runs")) {
            assertThat(run.path("outcome").asText()).as(run.toString()).isEqualTo("completed");
            // S1's guest has ~90 MiB of 256 MiB written: both streams carry that, not zero pages
            assertThat(run.path("transferred_bytes").asLong()).as(run.toString()).isBetween(60L << 20, 200L << 20);
            assertThat(run.path("qemu_total_ms").asLong()).as(run.toString()).isPositive()
                    .isLessThan(run.path("wall_ms").asLong());
        }
        JsonNode ferry = cmp.path("runs").get(1);
        assertThat(ferry.path("tool").asText()).isEqualTo("ferry");
        assertThat(ferry.path("task_ms").asLong()).isBetween(ferry.path("qemu_total_ms").asLong(),
                ferry.path("wall_ms").asLong());
        // both daemons and their guests are gone
        assertThat(ProcessHandle.allProcesses().map(p -> p.info().commandLine().orElse(""))
                .filter(c -> c.contains("libvirtd --config")).toList()).isEmpty();
    }

    @Test
    void libvirtIsOneMeasurementOfItsOwn() {
        FerryCli.Run r = FerryCli.ferry("bench", "--libvirt", "--scale");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--scale, --tls-cost and --libvirt are different measurements");
    }
}
