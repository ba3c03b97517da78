package ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The recoverer's race (seen once in CI): it listed a migration's journal as open, the task then
 * closed it and ended, and recovering it replaced the task's record with a failure its follower
 * read. A task that ended is recovered only while its journal is still open (a hand-over left pending).
 */
class TasksRecoverTest {
    @TempDir
    Path dir;

    @Test
    void anEndedTaskWhoseJournalClosedIsNotRecovered() throws Exception {
        Tasks tasks = new Tasks(new ClusterLayout(dir), "a");
        // a task of that id that has ended (its body, without a migration, fails at once)
        Task ended = tasks.recover("migrate-a-100-1", 100, "b", null, () -> true).orElseThrow();
        ended.result().handle((r, e) -> null).get(10, TimeUnit.SECONDS);

        assertThat(tasks.recover("migrate-a-100-1", 100, "b", null, () -> false)).as("the journal was closed").isEmpty();
        assertThat(tasks.get("migrate-a-100-1")).containsSame(ended);

        Task again = tasks.recover("migrate-a-100-1", 100, "b", null, () -> true).orElseThrow();
        assertThat(again).as("a journal left open (hand-over pending) is recovered").isNotSameAs(ended);
        again.result().handle((r, e) -> null).get(10, TimeUnit.SECONDS);
    }
}
