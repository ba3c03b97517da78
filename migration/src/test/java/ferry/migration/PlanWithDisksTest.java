package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.migration.disk.LocalDisk;
import ferry.migration.disk.MirrorStart;
import ferry.migration.policy.Policies;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The RAM's prediction once local disks go first: less link, less time (issue 11, item 4). */
class PlanWithDisksTest {
    static final long MIB = 1 << 20;

    /** 512 MiB guest, half zero pages, dirtying 8 MiB/s over a 32 MiB/s link, 60 s limit, 300 ms budget. */
    private static Plan.Inputs guest(long limitMs) {
        return new Plan.Inputs(512 * MIB, 0.5, 8 * MIB, 256 * MIB, 32 * MIB, "limit", 300, limitMs,
                true, false, false);
    }

    private static Plan.DiskPrediction disk(long bytes, double writes, double seconds) {
        return new Plan.DiskPrediction("drive-virtio0", "vm-100-disk-0", bytes, writes, "background", seconds, "");
    }

    @Test
    void withoutDisksThePlanIsTheRamAlone() {
        Plan plain = Plan.of(guest(60_000));
        Plan same = Plan.of(guest(60_000), List.of(), true);
        assertThat(same.strategies()).isEqualTo(plain.strategies());
        assertThat(same.totalSeconds(same.budgetOutcome())).isEqualTo(plain.budgetOutcome().seconds());
    }

    @Test
    void theGuestsDiskWritesTakeTheirShareOfTheLinkFromTheRam() {
        Plan plain = Plan.of(guest(60_000));
        Plan withDisk = Plan.of(guest(60_000), List.of(disk(256 * MIB, 12 * MIB, 10)), true);

        assertThat(withDisk.inputs().ramLinkBytesPerS()).isEqualTo(20.0 * MIB);
        assertThat(withDisk.inputs().ramTimeMs()).isEqualTo(50_000);
        Plan.Prediction before = plain.forPolicy("budget:precopy");
        Plan.Prediction after = withDisk.forPolicy("budget:precopy");
        // same RAM, a slower link for it and the same dirty rate: more time, more passes' worth of bytes
        assertThat(after.seconds()).isGreaterThan(before.seconds() * 32 / 20 * 0.95);
        assertThat(withDisk.totalSeconds(after)).isEqualTo(10 + after.seconds());
        assertThat(withDisk.reason()).contains("after 10.0 s of disk mirroring").contains("20.0 MiB/s of the link");
    }

    @Test
    void underAConfiguredLimitTheRamKeepsItsRateAndOnlyTheTimeIsShared() {
        // QEMU holds the RAM stream to the limit; write-blocking mirror writes go beside it
        Plan p = Plan.of(guest(60_000), List.of(disk(256 * MIB, 12 * MIB, 10)), false);
        assertThat(p.inputs().ramLinkBytesPerS()).isEqualTo(32.0 * MIB);
        assertThat(p.inputs().ramTimeMs()).isEqualTo(50_000);
        assertThat(p.forPolicy("budget:precopy").seconds()).isEqualTo(Plan.of(guest(60_000))
                .forPolicy("budget:precopy").seconds());
        assertThat(p.reason()).contains("after 10.0 s of disk mirroring)");
    }

    @Test
    void aGuestWritingMoreThanTheLinkStillLeavesTheRamAFloorNotZero() {
        Plan p = Plan.of(guest(600_000), List.of(disk(64 * MIB, 40 * MIB, 2)), true);
        assertThat(p.inputs().ramLinkBytesPerS()).isEqualTo(32.0 * MIB * Plan.MIN_RAM_SHARE);
        assertThat(p.forPolicy("budget:precopy").seconds()).isPositive().isFinite();
    }

    @Test
    void mirrorsThatTakeTheWholeTimeLimitLeaveNothingThatConverges() {
        Plan p = Plan.of(guest(30_000), List.of(disk(1024 * MIB, 0, 32), disk(64 * MIB, 0, 2)), true);
        assertThat(p.inputs().disks().mirrorSeconds()).isEqualTo(32);
        assertThat(p.strategies()).noneMatch(Plan.Prediction::converges);
        assertThat(p.reason()).contains("the disks' mirrors alone need 32 s of the 30 s time limit");
    }

    @Test
    void aRamMigrationThatFitsAloneCanMissTheLimitOnceTheDisksTookTheirTime() {
        Plan alone = Plan.of(guest(20_000));
        assertThat(alone.forPolicy("budget:precopy").converges()).isTrue();
        Plan afterDisks = Plan.of(guest(20_000), List.of(disk(512 * MIB, 1 * MIB, 17)), true);
        assertThat(afterDisks.forPolicy("budget:precopy").converges()).isFalse();
    }

    @Test
    void predictionsFromMeasuredWritesShareTheLinkLikeTheMirrorsDo() {
        List<LocalDisk> disks = List.of(localDisk(0, 64 * MIB), localDisk(1, 64 * MIB));
        var writes = java.util.Map.of(disks.get(0).drive(), 1.0 * MIB, disks.get(1).drive(), 15.0 * MIB);
        List<Plan.DiskPrediction> d = MirrorStart.predict(disks, writes, 32 * MIB, "auto", 60_000);
        // 16 MiB/s each: the quiet disk copies in the background, the busy one never would
        assertThat(d).extracting(Plan.DiskPrediction::mode).containsExactly("background", "write-blocking");
        assertThat(d.get(0).seconds()).isCloseTo(64.0 / 15, org.assertj.core.data.Offset.offset(0.01));
        assertThat(d.get(1).seconds()).isCloseTo(4.0, org.assertj.core.data.Offset.offset(0.01));
        Plan p = Plan.of(guest(60_000), d, true);
        assertThat(p.inputs().disks().mirrorSeconds()).isCloseTo(64.0 / 15, org.assertj.core.data.Offset.offset(0.01));
        assertThat(p.inputs().ramLinkBytesPerS()).isEqualTo(16.0 * MIB);
    }

    @Test
    void theJsonOfThePlanCarriesWhatTheRamWasPredictedOn() {
        var json = Policies.JSON.valueToTree(Plan.of(guest(60_000), List.of(disk(256 * MIB, 12 * MIB, 10)), true));
        assertThat(json.at("/inputs/ramLinkBytesPerS").asDouble()).isEqualTo(20.0 * MIB);
        assertThat(json.at("/inputs/ramTimeMs").asLong()).isEqualTo(50_000);
        assertThat(json.at("/inputs/disks/mirrorSeconds").asDouble()).isEqualTo(10);
        assertThat(json.at("/disks/0/name").asText()).isEqualTo("drive-virtio0");
    }

    private static LocalDisk localDisk(int index, long size) {
        var disk = new ferry.node.VmDefinition.Disk("local", "vm-100-disk-" + index, "raw", null);
        return new LocalDisk(index, disk, disk, size, size);
    }
}
