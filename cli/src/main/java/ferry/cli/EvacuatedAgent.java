package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.AgentClient;
import ferry.agent.evacuate.Evacuation;
import java.io.PrintWriter;
import java.io.Writer;
import java.time.Duration;

/**
 * The node {@code ferry node evacuate} empties, reached over HTTPS with the admin's certificate:
 * its VMs, its migration tasks, each followed to its end (waiting for the agent if it restarts).
 */
final class EvacuatedAgent implements Evacuation.Source {
    private final AgentClient agent;
    private final String node;
    private final Duration reconnectWait;

    EvacuatedAgent(AgentClient agent, String node, Duration reconnectWait) {
        this.agent = agent;
        this.node = node;
        this.reconnectWait = reconnectWait;
    }

    @Override
    public JsonNode vms() {
        return agent.get("/api/v1/vms");
    }

    @Override
    public String migrate(ObjectNode request) throws Evacuation.Refused {
        try {
            return agent.migrate(request).path("id").asText();
        } catch (AgentClient.AgentException e) {
            throw new Evacuation.Refused(e.getMessage());
        }
    }

    @Override
    public JsonNode plan(ObjectNode request) throws Evacuation.Refused {
        try {
            return agent.post("/api/v1/vms/" + request.path("vmid").asInt() + "/plan", request);
        } catch (AgentClient.AgentException e) {
            if (e.status() == 409) { // prepare's refusal; anything else is a plan that could not be made
                throw new Evacuation.Refused(e.getMessage());
            }
            throw e;
        }
    }

    @Override
    public Evacuation.Ended await(String taskId) {
        PrintWriter nowhere = new PrintWriter(Writer.nullWriter());
        JsonNode done;
        try {
            done = new TaskFollower(agent, node, taskId, nowhere, false, true).reconnect(reconnectWait, nowhere).follow();
        } catch (OutcomeUnknown e) {
            throw new Evacuation.Lost(e.getMessage());
        }
        ObjectNode s = TaskFollower.summary(done);
        return new Evacuation.Ended(s.path("status").asText(),
                s.path("downtime_ms").isNumber() ? s.path("downtime_ms").asLong() : null,
                s.path("duration_ms").asLong(), s.hasNonNull("error") ? s.path("error").asText() : null);
    }
}
