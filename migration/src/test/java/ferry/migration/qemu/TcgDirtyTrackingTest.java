package ferry.migration.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.node.NodeException;
import ferry.node.QemuBinary;
import ferry.node.QemuProcess;
import ferry.testkit.Qemu72;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which running QEMUs Ferry pauses a guest on for the whole stream: asked of real QEMUs under TCG. */
class TcgDirtyTrackingTest {
    @TempDir
    Path dir;

    @Test
    void onlyASourceOlderThan9WithoutKvmLosesWrites() {
        assertThat(TcgDirtyTracking.losesWrites(7, false)).isTrue();
        assertThat(TcgDirtyTracking.losesWrites(8, false)).isTrue();
        assertThat(TcgDirtyTracking.losesWrites(9, false)).isFalse();
        assertThat(TcgDirtyTracking.losesWrites(10, false)).isFalse();
        assertThat(TcgDirtyTracking.losesWrites(7, true)).as("KVM tracks dirty pages itself").isFalse();
    }

    @Test
    void qemu10UnderTcgIsFine() {
        try (QemuProcess q = QemuProcess.builder(QemuBinary.find(), dir).name("ferry-tcg-10").machine("none")
                .accel("tcg").memoryMiB(16).start()) {
            assertThat(TcgDirtyTracking.problem(q, "b")).isNull();
        }
    }

    @Test
    void qemu72UnderTcgIsNamedWithItsVersionTheFixAndTheWayOut() {
        QemuBinary q72;
        try {
            q72 = Qemu72.provide();
        } catch (NodeException e) {
            Assumptions.abort("QEMU 7.2 unavailable: " + e.getMessage());
            return;
        }
        try (QemuProcess q = QemuProcess.builder(q72, dir).name("ferry-tcg-72").machine("none").accel("tcg")
                .memoryMiB(16).start()) {
            assertThat(TcgDirtyTracking.problem(q, "a")).startsWith("QEMU 7.2.")
                    .contains("on node 'a' runs this guest under TCG").contains("03bfc2188f06")
                    .contains("paused for the whole stream").contains("QEMU 9.0 or newer");
        }
    }
}
