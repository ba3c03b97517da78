package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PageOracleTest {
    private static final int PAGE = Bootblock.PAGE_SIZE;

    /** A dump whose page i has counter values[i] and zeros elsewhere. */
    private static byte[] dump(int... values) {
        byte[] d = new byte[values.length * PAGE];
        for (int i = 0; i < values.length; i++) {
            d[i * PAGE] = (byte) values[i];
        }
        return d;
    }

    @Test
    void allEqualIsOk() {
        var r = PageOracle.check(dump(7, 7, 7, 7));
        assertThat(r.ok()).as(r.message()).isTrue();
        assertThat(r.pages()).isEqualTo(4);
        assertThat(r.pass()).isEqualTo(7);
        assertThat(r.firstBehind()).isEqualTo(-1);
    }

    @Test
    void freshMemoryIsOkAtPassZero() {
        var r = PageOracle.check(new byte[3 * PAGE]);
        assertThat(r.ok()).isTrue();
        assertThat(r.pass()).isZero();
    }

    @Test
    void oneDescendingStepIsOk() {
        var r = PageOracle.check(dump(7, 7, 6, 6, 6));
        assertThat(r.ok()).as(r.message()).isTrue();
        assertThat(r.pass()).isEqualTo(7);
        assertThat(r.firstBehind()).isEqualTo(2);
        assertThat(r.message()).contains("pass 7 reached page 2 of 5");
    }

    @Test
    void stepRightAfterFirstPageIsOk() {
        var r = PageOracle.check(dump(1, 0, 0));
        assertThat(r.ok()).isTrue();
        assertThat(r.firstBehind()).isEqualTo(1);
    }

    @Test
    void stepWrapsFromZeroTo255() {
        var r = PageOracle.check(dump(0, 0, 255, 255));
        assertThat(r.ok()).as(r.message()).isTrue();
        assertThat(r.pass()).isZero();
        assertThat(r.firstBehind()).isEqualTo(2);
    }

    @Test
    void stepFrom255To254IsOk() {
        assertThat(PageOracle.check(dump(255, 254)).ok()).isTrue();
    }

    @Test
    void allAt255IsOk() {
        var r = PageOracle.check(dump(255, 255, 255));
        assertThat(r.ok()).isTrue();
        assertThat(r.pass()).isEqualTo(255);
    }

    @Test
    void pageAheadAcrossWrapFails() {
        // 255 then 0: the second page is one pass ahead, not behind.
        var r = PageOracle.check(dump(255, 0));
        assertThat(r.ok()).isFalse();
        assertThat(r.message()).contains("page 1 at 0x101000 has counter 0 (1 ahead of the first page)")
                .contains("expected 255 (pass of the first page) or 254 (pass in progress)");
    }

    @Test
    void pageAheadFails() {
        var r = PageOracle.check(dump(5, 5, 6, 5));
        assertThat(r.ok()).isFalse();
        assertThat(r.message()).startsWith("page 2 at 0x102000 has counter 6 (1 ahead");
    }

    @Test
    void stalePageInTheMiddleFails() {
        // One page behind surrounded by current pages: a lost write, not a pass in progress.
        var r = PageOracle.check(dump(9, 9, 8, 9, 9));
        assertThat(r.ok()).isFalse();
        assertThat(r.message()).startsWith("page 3 at 0x103000 has counter 9 (same as the first page)")
                .contains("expected 8, like every page from the first one behind (page 2 at 0x102000)");
        assertThat(r.firstBehind()).isEqualTo(2);
    }

    @Test
    void pageTwoBehindFails() {
        var r = PageOracle.check(dump(9, 9, 7, 7));
        assertThat(r.ok()).isFalse();
        assertThat(r.message()).startsWith("page 2 at 0x102000 has counter 7 (2 behind the first page)");
    }

    @Test
    void pageTwoBehindAfterStepFails() {
        var r = PageOracle.check(dump(9, 8, 8, 7));
        assertThat(r.ok()).isFalse();
        assertThat(r.message()).startsWith("page 3 at 0x103000 has counter 7 (2 behind").contains("expected 8");
    }

    @Test
    void pageTwoBehindAcrossWrapFails() {
        var r = PageOracle.check(dump(1, 255));
        assertThat(r.ok()).isFalse();
        assertThat(r.message()).contains("counter 255 (2 behind the first page)");
    }

    @Test
    void stalePageAtWrapFails() {
        // 0, 255, 0: a page at the previous pass followed by a current one.
        var r = PageOracle.check(dump(0, 255, 0));
        assertThat(r.ok()).isFalse();
        assertThat(r.message()).startsWith("page 2 at 0x102000 has counter 0");
    }

    @Test
    void nonZeroPayloadByteFails() {
        byte[] d = dump(3, 3, 3);
        d[PAGE + 100] = 0x5a;
        var r = PageOracle.check(d);
        assertThat(r.ok()).isFalse();
        assertThat(r.message()).isEqualTo(
                "page 1 at 0x101000: byte at 0x101064 is 0x5a, expected 0 (only byte 0 is a counter)");
    }

    @Test
    void lastByteOfLastPageIsChecked() {
        byte[] d = dump(3, 3);
        d[d.length - 1] = 1;
        assertThat(PageOracle.check(d).ok()).isFalse();
    }

    @Test
    void messagesUseTheGivenBase() {
        var r = PageOracle.check(dump(4, 2), 0x4000_0000L);
        assertThat(r.message()).startsWith("page 1 at 0x40001000 ");
    }

    @Test
    void rejectsPartialPages() {
        assertThatThrownBy(() -> PageOracle.check(new byte[PAGE + 1])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PageOracle.check(new byte[0])).isInstanceOf(IllegalArgumentException.class);
    }
}
