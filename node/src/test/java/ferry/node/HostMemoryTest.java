package ferry.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class HostMemoryTest {
    @Test
    void readsMemTotalAndMemAvailableInBytes() {
        HostMemory m = HostMemory.parse("""
                MemTotal:       24683520 kB
                MemFree:        20662172 kB
                MemAvailable:   23557632 kB
                Buffers:          123456 kB
                """);
        assertThat(m.totalBytes()).isEqualTo(24683520L * 1024);
        assertThat(m.availableBytes()).as("MemAvailable, not MemFree").isEqualTo(23557632L * 1024);
    }

    @Test
    void aKernelWithoutMemAvailableIsNamed() {
        assertThatThrownBy(() -> HostMemory.parse("MemTotal: 1024 kB\nMemFree: 512 kB\n"))
                .isInstanceOf(NodeException.class).hasMessageContaining("MemAvailable");
    }

    @Test
    void thisHostHasSome() {
        HostMemory m = HostMemory.now();
        assertThat(m.availableBytes()).isPositive().isLessThanOrEqualTo(m.totalBytes());
    }
}
