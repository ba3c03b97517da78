package ferry.cli.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VirshJobTest {
    /** What libvirt 11.3 printed after a postcopy migration of the S3 guest (domjobinfo --completed on the source). */
    private static final String POSTCOPY = """
            Job type:         Completed   \n\
            Operation:        Outgoing migration
            Time elapsed:     5092         ms
            Time elapsed w/o network: 5090         ms
            Data processed:   194.173 MiB
            Data remaining:   0.000 B
            Data total:       256.375 MiB
            Memory processed: 194.173 MiB
            Memory bandwidth: 39.953 MiB/s
            Dirty rate:       0            pages/s
            Iteration:        3           \n\
            Postcopy requests: 5887        \n\
            Normal data:      193.496 MiB
            Total downtime:   2            ms
            Setup time:       1            ms
            """;

    @Test
    void readsTheFiguresOfAFinishedJob() {
        VirshJob j = VirshJob.parse(POSTCOPY);
        assertThat(j.completed()).isTrue();
        assertThat(j.elapsedMs()).isEqualTo(5092); // not the "w/o network" line
        assertThat(j.downtimeMs()).isEqualTo(2);
        assertThat(j.processedBytes()).isEqualTo(Math.round(194.173 * 1048576));
        assertThat(j.iterations()).isEqualTo(3);
        assertThat(j.postcopyRequests()).isEqualTo(5887);
    }

    @Test
    void aJobThatNeverFinishedHasNoFigures() {
        VirshJob j = VirshJob.parse("Job type:         None        \n");
        assertThat(j.completed()).isFalse();
        assertThat(j.elapsedMs()).isNull();
        assertThat(j.processedBytes()).isNull();
        assertThat(j.postcopyRequests()).isNull();
    }

    @Test
    void sizesInEveryBinaryUnit() {
        assertThat(VirshJob.bytes("0.000 B")).isZero();
        assertThat(VirshJob.bytes("2.500 KiB")).isEqualTo(2560);
        assertThat(VirshJob.bytes("1.000 GiB")).isEqualTo(1L << 30);
        assertThat(VirshJob.bytes("12 pages")).isNull();
        assertThat(VirshJob.bytes("garbled")).isNull();
    }
}
