package ferry.migration.disk;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MirrorStartTest {
    static final long MIB = 1 << 20;

    @Test
    void aSlowWriterIsCopiedInTheBackground() {
        MirrorStart.Choice c = MirrorStart.choose(64 * MIB, 2 * MIB, 32 * MIB, 60_000);
        assertThat(c.writeBlocking()).isFalse();
        assertThat(c.why()).contains("background copy, about 2.1 s");
    }

    @Test
    void aWriterNearTheMirrorsSpeedWriteBlocksFromTheStart() {
        assertThat(MirrorStart.choose(64 * MIB, 6 * MIB, 4 * MIB, 60_000).why())
                .contains("guest writes 6.0 MiB/s, mirror 4.0 MiB/s: a background mirror would never catch up");
        assertThat(MirrorStart.choose(64 * MIB, 3.3 * MIB, 4 * MIB, 600_000).writeBlocking()).isTrue();
    }

    @Test
    void aCopyThatWouldNotFitTheBudgetWriteBlocksFromTheStart() {
        MirrorStart.Choice c = MirrorStart.choose(1024 * MIB, 1 * MIB, 10 * MIB, 60_000);
        assertThat(c.writeBlocking()).isTrue();
        assertThat(c.why()).contains("would need 114 s of the 60 s budget");
    }

    @Test
    void aModeAskedForIsKeptAndSaysSo() {
        MirrorStart.Choice bg = MirrorStart.choose("background", 64 * MIB, 6 * MIB, 4 * MIB, 60_000);
        assertThat(bg.writeBlocking()).isFalse();
        assertThat(bg.why()).contains("as asked (--mirror-mode); it may never catch up");
        assertThat(MirrorStart.choose("write-blocking", 64 * MIB, 0, 32 * MIB, 60_000).writeBlocking()).isTrue();
    }
}
