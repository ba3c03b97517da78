package ferry.agent.evacuate;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.agent.AgentClient;
import ferry.cluster.ClusterConfig;
import ferry.cluster.ClusterStore;
import ferry.cluster.NodeInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Where an evacuated VM may go, best first: the allowed nodes that are not in maintenance and
 * whose agent answers, by the memory they can give VMs now less what this evacuation already
 * sends them (an incoming guest's memory shows in the host's figures only as it arrives). The
 * order is a preference: each target's prepare still decides, and a refusal passes the VM on to
 * the next one.
 */
public final class EvacuationTargets {
    /** The candidates in order, and why the other allowed nodes are not among them. */
    public record Choice(List<String> nodes, List<String> excluded) {}

    private final ClusterStore store;
    private final String source;
    private final List<String> allowed;
    private final Function<String, AgentClient> agents;
    private final Map<String, Long> sending = new ConcurrentHashMap<>();

    /** @param allowed the nodes --to names, or empty: every node of the cluster but the source */
    EvacuationTargets(ClusterStore store, String source, List<String> allowed, Function<String, AgentClient> agents) {
        this.store = store;
        this.source = source;
        this.allowed = List.copyOf(allowed);
        this.agents = agents;
    }

    /**
     * Checks the allowed targets before anything changes: known nodes, not the source, not in
     * maintenance; {@code option} is what the user called the list ("--to" on the CLI, "'to'" in the API).
     */
    public static void check(ClusterConfig config, String source, List<String> to, String option) {
        for (String n : to) {
            NodeInfo info = config.node(n).orElseThrow(() -> new IllegalArgumentException(option + " names node '" + n
                    + "', which is not in the cluster; its nodes are " + String.join(", ", config.nodeNames())));
            if (n.equals(source)) {
                throw new IllegalArgumentException(option + " names node '" + n + "', the node being evacuated; name other nodes");
            }
            if (info.maintenance()) {
                throw new IllegalArgumentException(option + " names node '" + n + "', which is in maintenance; leave it out, or run "
                        + "'ferry node resume " + n + "' first");
            }
        }
    }

    Choice order() {
        ClusterConfig config = store.currentConfig(); // maintenance may be set on a target meanwhile
        List<String> names = allowed.isEmpty()
                ? config.nodeNames().stream().filter(n -> !n.equals(source)).toList() : allowed;
        List<String> excluded = new ArrayList<>();
        Map<String, Long> room = new java.util.HashMap<>();
        for (String n : names) {
            if (config.node(n).map(NodeInfo::maintenance).orElse(true)) {
                excluded.add(n + ": in maintenance");
                continue;
            }
            try {
                JsonNode info = agents.apply(n).get("/api/v1/node");
                // an agent that does not report its memory goes last; its prepare still checks what it can
                long forVms = info.path("mem_for_vms_bytes").asLong(-1);
                room.put(n, forVms < 0 ? Long.MIN_VALUE : forVms - sending.getOrDefault(n, 0L));
            } catch (AgentClient.AgentException e) {
                excluded.add(n + ": " + e.getMessage());
            }
        }
        List<String> order = new ArrayList<>(room.keySet());
        order.sort(Comparator.comparing((String n) -> room.get(n)).reversed().thenComparing(n -> n));
        return new Choice(order, excluded);
    }

    /** A VM of {@code bytes} is on its way to {@code node} (until {@link #arrived}). */
    void sending(String node, long bytes) {
        sending.merge(node, bytes, Long::sum);
    }

    void arrived(String node, long bytes) {
        sending.merge(node, -bytes, Long::sum);
    }
}
