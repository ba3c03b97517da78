package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.node.NodeException;
import ferry.node.QemuBinary;
import java.nio.file.Files;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The unpacked QEMU 7.2: its own modules and data first, its libraries present, never the installed QEMU. */
class Qemu72Test {
    @Test
    void providesBookwormsQemu72BesideTheInstalledOne() throws Exception {
        QemuBinary q;
        try {
            q = Qemu72.provide();
        } catch (NodeException e) {
            System.out.println("Qemu72Test skipped: " + e.getMessage());
            Assumptions.abort(e.getMessage());
            return;
        }
        assertThat(q.version()).startsWith("7.2.");
        assertThat(q.path()).startsWith(Qemu72.root()).isNotEqualTo(QemuBinary.find().path());
        // TCG is a module in Debian's 7.2: without its own module folder it could not run a guest
        assertThat(Files.exists(q.moduleDir().resolve("accel-tcg-x86_64.so"))).isTrue();
        assertThat(q.dataDirs().getFirst()).isEqualTo(Qemu72.root().resolve("usr/share/qemu"));
        assertThat(Qemu72.missingLibraries(q.path())).isEmpty();
        assertThat(QemuBinary.find().major()).as("the installed QEMU is untouched").isGreaterThanOrEqualTo(10);
    }

    @Test
    void theHostsPackageSourcesNameA72Build() throws Exception {
        try {
            assertThat(Qemu72.version("qemu-system-x86")).startsWith("1:7.2+dfsg-");
        } catch (java.io.IOException e) {
            Assumptions.abort("no apt here: " + e.getMessage());
        }
    }
}
