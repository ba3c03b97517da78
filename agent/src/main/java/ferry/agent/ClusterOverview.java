package ferry.agent;

import static ferry.agent.Agent.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterStore;
import ferry.cluster.NodeInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * {@code GET /api/v1/cluster}: every node as the web UI's cluster view shows it — its record
 * (address, maintenance where the store keeps it), whether its lease is alive, and what its agent
 * says of itself ({@code GET /api/v1/node}: QEMU, memory), asked in parallel with a short wait.
 */
final class ClusterOverview {
    /** How long a peer's agent may take to say how it is before the view shows it as not answering. */
    static final long PEER_WAIT_MS = 3000;

    private final String node;
    private final ClusterStore store;
    private final Function<String, AgentClient> agents;

    ClusterOverview(String node, ClusterStore store, Function<String, AgentClient> agents) {
        this.node = node;
        this.store = store;
        this.agents = agents;
    }

    ObjectNode json() {
        ObjectNode o = JSON.createObjectNode().put("cluster", store.config().name()).put("node", node);
        Set<String> live = store.liveNodes();
        List<NodeInfo> nodes = store.currentConfig().nodes(); // maintenance flags change while agents run
        List<CompletableFuture<JsonNode>> asked = new ArrayList<>();
        for (NodeInfo n : nodes) {
            // this node's agent too, over its own port: one way to read every node
            asked.add(CompletableFuture.supplyAsync(() -> agents.apply(n.name()).get("/api/v1/node"),
                    r -> Thread.ofVirtual().start(r)).orTimeout(PEER_WAIT_MS, TimeUnit.MILLISECONDS));
        }
        var out = o.putArray("nodes");
        for (int i = 0; i < nodes.size(); i++) {
            NodeInfo n = nodes.get(i);
            ObjectNode row = JSON.valueToTree(n);
            // the record's "qemu" is the node's own installation (null: the installed one); "qemu" of a
            // row is the version its agent reports, as in GET /api/v1/node
            JsonNode own = row.remove("qemu");
            if (own != null && !own.isNull()) {
                row.set("qemu_installation", own);
            }
            row.put("alive", live.contains(n.name())).put("vms", store.vmsOf(n.name()).size());
            try {
                JsonNode info = asked.get(i).join();
                row.put("answers", true);
                info.fields().forEachRemaining(f -> {
                    if (!row.has(f.getKey()) && !f.getKey().equals("node")) {
                        row.set(f.getKey(), f.getValue());
                    }
                });
            } catch (RuntimeException e) {
                Throwable why = e.getCause() != null ? e.getCause() : e;
                row.put("answers", false).put("error", why instanceof java.util.concurrent.TimeoutException
                        ? "no answer within " + PEER_WAIT_MS + " ms" : String.valueOf(why.getMessage()));
            }
            out.add(row);
        }
        return o;
    }
}
