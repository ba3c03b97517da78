package ferry.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostCheckTest {
    @TempDir
    Path dir;

    @Test
    void reportsQemuKvmCapabilitiesAndCleansUp() {
        Path scratch = dir.resolve("scratch");
        HostCheck.Report r = HostCheck.run(QemuBinary.find(), scratch);
        assertThat(r.qemu().version()).matches("\\d+\\.\\d+\\.\\d+");
        assertThat(r.qemuPackage()).isNotNull();
        assertThat(r.kvmDevice()).isEqualTo(Kvm.device());
        if (r.kvmDevice() != Kvm.DeviceState.USABLE) {
            assertThat(r.kvmEnabled()).isFalse();
        }
        assertThat(r.capabilities()).contains("xbzrle", "auto-converge", "postcopy-ram", "multifd",
                "pause-before-switchover", "return-path");
        assertThat(r.parameters()).contains("downtime-limit", "max-bandwidth", "multifd-channels");
        assertThat(r.unexpected()).isEmpty();
        assertThat(r.lacks()).isEmpty();
        assertThat(Files.exists(scratch)).as("scratch folder removed").isFalse();
    }

    @Test
    void missingQemuBinaryIsNamedWithTheNextStep() {
        var e = org.assertj.core.api.Assertions.catchThrowable(() -> QemuBinary.probe(dir.resolve("no-such-qemu")));
        assertThat(e).isInstanceOf(NodeException.class).hasMessageContaining("no-such-qemu");
    }

    @Test
    void qemuThatExitsAtStartReportsItsOwnMessage() {
        var e = org.assertj.core.api.Assertions.catchThrowable(() -> QemuProcess.builder(QemuBinary.find(), dir)
                .machine("no-such-machine").start());
        assertThat(e).isInstanceOf(NodeException.class).hasMessageContaining("exited at start")
                .hasMessageContaining("no-such-machine");
    }
}
