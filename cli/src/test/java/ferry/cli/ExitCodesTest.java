package ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Exit codes that tell the truth, and the wait of {@code cluster down}, without QEMU. */
class ExitCodesTest {
    private static JsonNode task(String id, String status) {
        return VmCommand.JSON.createObjectNode().put("id", id).put("vmid", 100).put("source", "a").put("target", "b")
                .put("status", status);
    }

    @Test
    void eachOutcomeHasItsExitCode() {
        assertThat(TaskFollower.exitCode(task("t", "completed"))).isEqualTo(Main.OK);
        assertThat(TaskFollower.exitCode(task("t", "failed"))).isEqualTo(Main.FAILED);
        assertThat(TaskFollower.exitCode(task("t", "cancelled"))).isEqualTo(Main.FAILED);
        assertThat(TaskFollower.exitCode(task("t", "not-converged"))).isEqualTo(Main.FAILED);
        assertThat(TaskFollower.exitCode(task("t", "problems"))).isEqualTo(Main.PROBLEMS);
        assertThat(TaskFollower.exitCode(task("t", "handover-pending"))).isEqualTo(Main.UNKNOWN).isEqualTo(4);
        assertThat(Main.exitCode(new OutcomeUnknown("outcome unknown"))).isEqualTo(Main.UNKNOWN);
        assertThat(Main.exitCode(new UsageError("no"))).isEqualTo(Main.USAGE);
    }

    @Test
    void clusterDownWaitsUntilNoTaskRunsAndNamesEachOnce() throws InterruptedException {
        Deque<List<JsonNode>> answers = new ArrayDeque<>(List.of(
                List.of(task("t1", "running"), task("t2", "running")),
                List.of(task("t1", "running")),
                List.of(task("t1", "running")),
                List.of()));
        StringWriter out = new StringWriter();
        MigrationsWait wait = new MigrationsWait(answers::poll, new PrintWriter(out, true), Duration.ofMillis(10));
        assertThat(wait.await(Duration.ofSeconds(30))).isEmpty();
        assertThat(answers).isEmpty();
        assertThat(out.toString()).containsOnlyOnce("waiting for migration task t1 (VM 100, a -> b) to end")
                .containsOnlyOnce("waiting for migration task t2 (VM 100, a -> b)");
    }

    @Test
    void clusterDownStopsWaitingAtItsTimeoutWithTheTasksLeft() throws InterruptedException {
        StringWriter out = new StringWriter();
        MigrationsWait wait = new MigrationsWait(() -> List.of(task("t1", "running")), new PrintWriter(out, true),
                Duration.ofMillis(10));
        List<JsonNode> left = wait.await(Duration.ofMillis(200));
        assertThat(left).extracting(t -> t.path("id").asText()).containsExactly("t1");
        assertThat(out.toString()).containsOnlyOnce("t1");
    }
}
