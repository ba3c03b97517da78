package ferry.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** Reads QEMU's greeting: {"QMP": {"version": {"qemu": {...}, "package": ...}, "capabilities": [...]}}. */
final class Greetings {
    private Greetings() {}

    static QmpGreeting parse(String peer, JsonNode g) {
        JsonNode qmp = g.path("QMP");
        JsonNode v = qmp.path("version").path("qemu");
        if (!v.has("major") || !qmp.path("capabilities").isArray()) {
            throw new QmpConnectionException(peer + ": the greeting lacks a QEMU version or capabilities: " + g);
        }
        List<String> caps = new ArrayList<>();
        qmp.path("capabilities").forEach(c -> caps.add(c.asText()));
        return new QmpGreeting(v.path("major").asInt(), v.path("minor").asInt(), v.path("micro").asInt(),
                qmp.path("version").path("package").asText(""), List.copyOf(caps));
    }
}
