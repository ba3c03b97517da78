package ferry.migration.phase;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import ferry.protocol.MigrationStats;
import org.junit.jupiter.api.Test;

/** The counters of a recorded postcopy phase (QEMU 10.0, TCG, budget policy behind 16 MiB/s). */
class PostcopyBandwidthTest {
    private static final long LIMIT = 16L << 20;
    private static final long MS = 1_000_000;

    private static MigrationStats ram(long transferred, long requests) throws Exception {
        return new ObjectMapper().readValue("{\"transferred\":" + transferred + ",\"remaining\":0,\"total\":134217728,"
                + "\"duplicate\":0,\"skipped\":0,\"normal\":0,\"normal-bytes\":0,\"dirty-pages-rate\":0,\"mbps\":0,"
                + "\"dirty-sync-count\":3,\"postcopy-requests\":" + requests + ",\"page-size\":4096}", MigrationStats.class);
    }

    @Test
    void theBackgroundStreamMakesRoomForThePageRequests() throws Exception {
        PostcopyBandwidth b = new PostcopyBandwidth(LIMIT);
        assertThat(b.observe(0, ram(42_512_047, 350))).as("one look says no rate yet").isNull();
        // 549 requests in 158 ms: 13.6 MiB/s of the 16 go to faulted pages
        PostcopyBandwidth.Change first = b.observe(158 * MS, ram(46_472_425, 899));
        assertThat(first).isNotNull();
        assertThat(first.bytesPerS() / 1048576.0).isBetween(2.2, 2.6);
        assertThat(first.reason()).contains("of which the target's page requests 13.6 MiB/s",
                "the background stream gets 2.4 MiB/s").doesNotContain("exceed");
        // the requests slow down: the background gets more of the limit back
        PostcopyBandwidth.Change second = b.observe(312 * MS, ram(50_531_317, 1056));
        assertThat(second).isNotNull();
        assertThat(second.bytesPerS()).isGreaterThan(first.bytesPerS());
        // then 1733 requests in 317 ms: 15.1 MiB/s since the phase began, the background keeps a tenth
        PostcopyBandwidth.Change third = b.observe(629 * MS, ram(59_346_727, 2789));
        assertThat(third).isNotNull();
        assertThat(third.bytesPerS()).isEqualTo((long) (LIMIT * PostcopyBandwidth.FLOOR_SHARE));
        assertThat(third.reason()).doesNotContain("exceed");
        // requests past the limit on their own: said once, and an unchanged setting is not sent again
        PostcopyBandwidth.Change over = b.observe(1000 * MS, ram(65_000_000, 6000));
        assertThat(over).isNotNull();
        assertThat(over.reason()).contains("the requests alone exceed the limit");
        assertThat(b.observe(1100 * MS, ram(66_000_000, 6400))).isNull();
    }

    @Test
    void anAgentThatFollowsAfterARestartRaisesALoweredSettingBackTowardsTheLimit() throws Exception {
        // the agent before it had lowered the background to a tenth; the requests have calmed since
        PostcopyBandwidth b = new PostcopyBandwidth(LIMIT, LIMIT / 10);
        assertThat(b.observe(0, ram(80_000_000, 5000))).isNull();
        PostcopyBandwidth.Change c = b.observe(1000 * MS, ram(82_000_000, 5100));
        assertThat(c).as("100 requests in 1 s: 0.4 MiB/s of the 16").isNotNull();
        assertThat(c.bytesPerS() / 1048576.0).isBetween(15.5, 15.7);
    }
}
