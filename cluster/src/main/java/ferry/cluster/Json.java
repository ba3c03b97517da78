package ferry.cluster;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The stores' JSON: the cluster file and VM records (shared by the store implementations). */
public final class Json {
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private Json() {}

    /** Parses one JSON object; the message of the exception says what is wrong. */
    public static ObjectNode object(byte[] bytes) throws IOException {
        JsonNode node = MAPPER.readTree(bytes);
        if (node == null || node.isMissingNode()) {
            throw new IOException("it is empty");
        }
        if (!(node instanceof ObjectNode o)) {
            throw new IOException("it holds " + node.getNodeType().name().toLowerCase() + ", not an object");
        }
        return o;
    }

    public static byte[] pretty(JsonNode node) throws IOException {
        byte[] body = MAPPER.writer(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(node);
        byte[] out = new byte[body.length + 1];
        System.arraycopy(body, 0, out, 0, body.length);
        out[body.length] = '\n';
        return out;
    }

    /** One line of JSON, newline-terminated. */
    public static byte[] line(JsonNode node) throws IOException {
        return (MAPPER.writeValueAsString(node) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The VM record file: {"config": {...}, "lock": "migrate", "lock_holder": {"task": ..., "node": ...}};
     * no "lock" when unlocked.
     */
    public static byte[] record(VmRecord r) throws IOException {
        ObjectNode o = MAPPER.createObjectNode();
        o.set("config", r.config());
        if (r.lock() != null) {
            o.put("lock", r.lock());
        }
        if (r.lockHolder() != null) {
            o.putObject("lock_holder").put("task", r.lockHolder().task()).put("node", r.lockHolder().node());
        }
        return pretty(o);
    }

    public static VmRecord record(int vmid, String owner, byte[] bytes) throws IOException {
        ObjectNode o = object(bytes);
        if (!(o.get("config") instanceof ObjectNode config)) {
            throw new IOException("\"config\" is missing or not an object");
        }
        JsonNode lock = o.get("lock");
        if (lock != null && !lock.isNull() && !lock.isTextual()) {
            throw new IOException("\"lock\" is not a string");
        }
        String lockName = lock == null || lock.isNull() ? null : lock.asText();
        JsonNode holder = o.get("lock_holder");
        if (holder != null && !holder.isNull() && !(holder.path("task").isTextual() && holder.path("node").isTextual())) {
            throw new IOException("\"lock_holder\" is not {\"task\": ..., \"node\": ...}");
        }
        try {
            return new VmRecord(vmid, owner, config, lockName, holder == null || holder.isNull() ? null
                    : new VmRecord.LockHolder(holder.path("task").asText(), holder.path("node").asText()));
        } catch (ClusterException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    public static byte[] cluster(ClusterConfig c) throws IOException {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("name", c.name());
        o.put("token", c.token());
        var nodes = o.putArray("nodes");
        for (NodeInfo n : c.nodes()) {
            ObjectNode node = nodes.addObject()
                    .put("name", n.name())
                    .put("agent_address", n.agentAddress())
                    .put("migration_address", n.migrationAddress());
            if (n.maintenance()) { // absent when off: files written before the flag existed read the same
                node.put("maintenance", true);
            }
            if (n.qemu() != null) {
                ObjectNode q = node.putObject("qemu").put("binary", n.qemu().binary());
                if (n.qemu().moduleDir() != null) {
                    q.put("module_dir", n.qemu().moduleDir());
                }
                n.qemu().dataDirs().forEach(q.putArray("data_dirs")::add);
            }
        }
        return pretty(o);
    }

    public static ClusterConfig cluster(byte[] bytes) throws IOException {
        ObjectNode o = object(bytes);
        List<NodeInfo> nodes = new ArrayList<>();
        JsonNode list = o.get("nodes");
        if (list == null || !list.isArray()) {
            throw new IOException("\"nodes\" is missing or not an array");
        }
        try {
            for (JsonNode n : list) {
                JsonNode m = n.path("maintenance");
                if (!m.isMissingNode() && !m.isBoolean()) {
                    throw new IOException("\"maintenance\" of a node is not true or false");
                }
                // files written before the snake_case API spelled these agentAddress, migrationAddress
                nodes.add(new NodeInfo(text(n, "name"), text(n, "agent_address", "agentAddress"),
                        text(n, "migration_address", "migrationAddress"), m.asBoolean(false), qemu(n.get("qemu"))));
            }
            return new ClusterConfig(text(o, "name"), text(o, "token"), nodes);
        } catch (ClusterException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** The field under its name, or under its name of older files. */
    private static String text(JsonNode o, String field, String formerName) throws IOException {
        return o.has(field) || !o.has(formerName) ? text(o, field) : text(o, formerName);
    }

    /** A node's own QEMU: {"binary": ..., "module_dir": ..., "data_dirs": [...]}; null when absent. */
    private static NodeQemu qemu(JsonNode q) throws IOException {
        if (q == null || q.isNull()) {
            return null;
        }
        List<String> data = new ArrayList<>();
        for (JsonNode d : q.path("data_dirs")) {
            if (!d.isTextual()) {
                throw new IOException("\"qemu\".\"data_dirs\" holds something else than strings");
            }
            data.add(d.asText());
        }
        JsonNode module = q.get("module_dir");
        return new NodeQemu(text(q, "binary"), module == null || module.isNull() ? null : module.asText(), data);
    }

    private static String text(JsonNode o, String field) throws IOException {
        JsonNode v = o.get(field);
        if (v == null || !v.isTextual()) {
            throw new IOException("\"" + field + "\" is missing or not a string");
        }
        return v.asText();
    }
}
