package ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The node a task id names: a migration's and an evacuation's, node names with dashes included. */
class TaskIdTest {
    @Test
    void theNodeOfATaskId() {
        assertThat(TaskCommand.nodeOf("migrate-a-100-1700000000000-1")).isEqualTo("a");
        assertThat(TaskCommand.nodeOf("migrate-node-x-100-1700000000000-12")).isEqualTo("node-x");
        assertThat(TaskCommand.nodeOf("evacuate-a-1700000000000-1")).isEqualTo("a");
        assertThat(TaskCommand.nodeOf("evacuate-node-x-1700000000000-3")).isEqualTo("node-x");
        assertThatThrownBy(() -> TaskCommand.nodeOf("evacuate-a-1")).isInstanceOf(UsageError.class)
                .hasMessageContaining("evacuate-a-1700000000000-1");
        assertThatThrownBy(() -> TaskCommand.nodeOf("migrate-a-1-2")).isInstanceOf(UsageError.class);
    }
}
