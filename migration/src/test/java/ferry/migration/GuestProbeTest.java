package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.testkit.BootblockGuest;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pre-flight sample of a running guest, against real QEMU. */
class GuestProbeTest {
    @TempDir
    Path dir;

    @Test
    void aSubSecondSampleMeasuresTheGuestsWrites() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition vm = nodes.bootblockVm(120, new BootblockGuest(128, 1024 * 1024 + (32L << 20), 100_000));
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));

            long t0 = System.nanoTime();
            Duration window = GuestProbe.startDirtyRate(src, Phase2.PLAN_SAMPLE);
            assertThat(window).as("QEMU 8.2+ measures in milliseconds").isEqualTo(Phase2.PLAN_SAMPLE);
            double rate = GuestProbe.awaitDirtyRate(src, window, t0);
            assertThat(System.nanoTime() - t0).as("QEMU's window was waited for").isGreaterThanOrEqualTo(window.toNanos());
            assertThat(rate).as("the guest rewrites its 32 MiB region").isPositive();

            // a whole-second window is asked in seconds, the form every QEMU since 5.2 takes
            GuestProbe.Measured m = GuestProbe.measure(src, vm.memoryMiB(), Duration.ofSeconds(1));
            assertThat(m.dirtyBytesPerS()).isPositive();
            assertThat(m.took()).isGreaterThanOrEqualTo(Duration.ofSeconds(1));
            // 128 MiB guest of which the bootblock writes 32 MiB: most of the rest is zero
            assertThat(m.zeroShare()).isBetween(0.3, 1.0);
            src.detach();
        }
    }
}
