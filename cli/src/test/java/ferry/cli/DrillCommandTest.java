package ferry.cli;

import static ferry.cli.FerryCli.ferry;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code ferry drill --quick --json} end to end: real agent processes, real QEMUs, real kills, a
 * real etcd. The subset holds the faults that were real bugs: kill -9 of the source agent mid
 * pre-copy, the target agent gone at the hand-over (back 5 s later), an agent stopped mid
 * migration; the source node down until the target acts alone; etcd killed mid-migration.
 */
class DrillCommandTest {
    @Test
    @Timeout(600)
    void quickDrillPassesWithEveryCounterAtZero() {
        FerryCli.Run r = ferry("drill", "--quick", "--json");
        assertThat(r.code()).as(r.both()).isZero();
        JsonNode j = r.json();
        for (String counter : List.of("lost", "duplicated", "stale_locks", "orphans", "manual_steps", "drill_errors")) {
            assertThat(j.path(counter).asInt(-1)).as(counter + "\n" + r.both()).isZero();
        }
        assertThat(j.path("passed").asBoolean()).isTrue();
        List<String> names = new ArrayList<>();
        j.path("scenarios").forEach(s -> names.add(s.path("name").asText()));
        assertThat(names).contains("kill -9 source agent at migrate +1000ms", "kill -9 target agent at move-owner",
                "SIGTERM source agent mid pre-copy, start it again", "crossing migrations a->b and b->a");
        j.path("scenarios").forEach(s -> assertThat(s.path("checked").toString()).as(s.toString())
                .contains("lock", "journal closed", "no orphan QEMU", "no duplicate"));
        // the hand-over waited for the target agent, then finished on it
        JsonNode handover = j.path("scenarios").get(names.indexOf("kill -9 target agent at move-owner"));
        assertThat(handover.path("outcome").asText()).as(handover.toString()).contains("moved a->b");
        assertThat(handover.path("details").toString()).contains("handover-pending");
        boolean onEtcd = ferry.testkit.etcd.EtcdServer.unavailableReason() == null;
        assertThat(j.path("store").asText()).isEqualTo(onEtcd ? "etcd" : "directory");
        // as root each node runs on a host of its own (a network namespace)
        assertThat(j.path("hosts").asText()).isEqualTo(
                ferry.testkit.netns.HostNetwork.unavailableReason() == null ? "netns" : "loopback");
        assertThat(r.err()).contains(onEtcd ? "drill: [1/9]" : "drill: [1/7]");
        // with node a down, node b took the guest on alone; a finished the rest when it came back
        JsonNode down = j.path("scenarios").get(names.indexOf("source node down at migrate +1000ms"));
        assertThat(down.path("outcome").asText()).as(down.toString()).contains("moved a->b");
        assertThat(down.path("details").toString()).contains("peer-recover", "peer-done", "node 'b' ran the guest");
        if (onEtcd) {
            assertThat(names).contains("kill -9 etcd at migrate, back after 5 s", "kill -9 etcd at move-owner, back after 5 s");
        }
    }

    /**
     * On namespaced hosts (root) the link of the target's host goes down for 2 s during postcopy; on
     * loopback the target QEMU's connections are destroyed (ss -K) for 2 s. Neither side is lost.
     */
    @Tag("long") // two more drill runs (90 s); TlsMigrationTest cuts a postcopy link by default
    @Test
    @Timeout(300)
    void aLinkCutDuringPostcopyLosesNothingOnHostsAndOnLoopback() {
        String reason = ferry.testkit.netns.HostNetwork.unavailableReason();
        org.junit.jupiter.api.Assumptions.assumeTrue(reason == null, () -> "hosts as namespaces unavailable: " + reason);
        for (String where : List.of("--hosts", "--loopback")) {
            FerryCli.Run r = ferry("drill", where, "--only", "during postcopy", "--json");
            assertThat(r.code()).as(r.both()).isZero();
            JsonNode j = r.json();
            assertThat(j.path("hosts").asText()).isEqualTo(where.equals("--hosts") ? "netns" : "loopback");
            assertThat(j.path("scenarios")).hasSize(1);
            JsonNode s = j.path("scenarios").get(0);
            assertThat(s.path("details").toString()).as(s.toString())
                    .contains(where.equals("--hosts") ? "ip link set down" : "migration connection(s) of the target QEMU");
            assertThat(s.path("outcome").asText()).as(s.toString()).contains("moved a->b");
        }
    }

    @Test
    void helpSaysWhatItDoesAndHowLong() {
        FerryCli.Run r = ferry("drill", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("kill -9").contains("--quick").contains("minutes");
    }
}
