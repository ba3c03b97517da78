package ferry.cli;

import static ferry.cli.FerryCli.ferry;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code ferry drill --quick --json} end to end: real agent processes, real QEMUs, real kills.
 * The subset holds the faults that were real bugs: kill -9 of the source agent mid pre-copy, the
 * target agent gone at the hand-over (back 5 s later), an agent stopped mid migration.
 */
class DrillCommandTest {
    @Test
    @Timeout(420)
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
        assertThat(r.err()).contains("drill: [1/6]");
    }

    @Test
    void helpSaysWhatItDoesAndHowLong() {
        FerryCli.Run r = ferry("drill", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("kill -9").contains("--quick").contains("minutes");
    }
}
