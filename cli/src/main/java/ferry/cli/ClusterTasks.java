package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.agent.AgentClient;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** The migration tasks of some nodes, each asked of its own agent ({@code GET /api/v1/tasks}). */
final class ClusterTasks {
    /** One node's answer: its tasks, or why its agent gave none. */
    record Answer(String node, List<JsonNode> tasks, String error) {
        boolean answered() {
            return error == null;
        }
    }

    private final List<Answer> answers;

    private ClusterTasks(List<Answer> answers) {
        this.answers = answers;
    }

    /** Every task of the nodes, running and ended. */
    static ClusterTasks ask(ClusterOption cluster, List<String> nodes) {
        return ask(cluster, nodes, "/api/v1/tasks");
    }

    /** Only the running tasks of the nodes (the agents answer these from memory). */
    static ClusterTasks askRunning(ClusterOption cluster, List<String> nodes) {
        return ask(cluster, nodes, "/api/v1/tasks?status=running");
    }

    private static ClusterTasks ask(ClusterOption cluster, List<String> nodes, String path) {
        return ask(cluster::agent, nodes, path);
    }

    private static ClusterTasks ask(java.util.function.Function<String, AgentClient> agents, List<String> nodes,
                                    String path) {
        List<Answer> answers = new ArrayList<>();
        for (String node : nodes) {
            try {
                List<JsonNode> tasks = new ArrayList<>();
                agents.apply(node).get(path).forEach(tasks::add);
                answers.add(new Answer(node, tasks, null));
            } catch (AgentClient.AgentException e) {
                answers.add(new Answer(node, List.of(), e.getMessage()));
            }
        }
        return new ClusterTasks(answers);
    }

    List<Answer> answers() {
        return answers;
    }

    /** Every task of the nodes that answered, by start time, newest last. */
    List<JsonNode> all() {
        return answers.stream().flatMap(a -> a.tasks().stream())
                .sorted(Comparator.comparingLong(t -> t.path("started").asLong())).toList();
    }

    List<JsonNode> running() {
        return all().stream().filter(t -> t.path("status").asText().equals("running")).toList();
    }

    /** One task in a few words: its id, VM, source -> target. */
    static String describe(JsonNode t) {
        return t.path("id").asText() + " (VM " + t.path("vmid").asInt() + ", " + t.path("source").asText() + " -> "
                + t.path("target").asText() + ")";
    }
}
