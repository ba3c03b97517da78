package ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.node.VmDefinition;
import ferry.testkit.BootblockGuest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One naming convention: every key the agents answer with, at any depth, is snake_case — the VM,
 * the plan, a running task's progress, the result, the task list, the storages, errors.
 */
class ApiSnakeCaseTest {
    @TempDir
    Path dir;

    @Test
    void everyKeyOfTheMainRoutesIsSnakeCase() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), "a", "b")) {
            // 8 MiB written, then paused: at 2 MiB/s the stream runs for seconds, so polls see its progress
            BootblockGuest guest = new BootblockGuest(64, 1024 * 1024 + (8L << 20), 100_000);
            AgentClient a = c.defineOnA(100, "keys", guest, new VmDefinition.Migration(1000, 500, null));
            Map<String, JsonNode> answers = new LinkedHashMap<>();
            answers.put("GET /vms/100", a.get("/api/v1/vms/100"));
            answers.put("POST /vms/100/start", a.post("/api/v1/vms/100/start", null));
            answers.put("GET /node", a.get("/api/v1/node"));
            answers.put("GET /vms", a.get("/api/v1/vms"));
            answers.put("GET /storage", a.get("/api/v1/storage"));
            answers.put("GET /cluster", a.get("/api/v1/cluster"));
            // a row's "qemu" is the version its agent reports (the UI's QEMU column), not the config's installation
            assertThat(answers.get("GET /cluster").at("/nodes/1/qemu").asText()).matches("\\d+\\.\\d+.*");
            answers.put("POST /vms/100/plan", a.post("/api/v1/vms/100/plan", ApiJson.MAPPER.createObjectNode()
                    .put("target", "b").put("sample_seconds", 1).put("bwlimit", 8)));
            answers.put("GET /incoming/100", c.client("b").get("/api/v1/incoming/100"));
            BootblockGuest.awaitPasses(c.layout.runRoot("a").resolve("100").resolve("serial.log"), 1,
                    java.time.Duration.ofSeconds(30));
            answers.put("POST /vms/100/pause", a.post("/api/v1/vms/100/pause", null));
            JsonNode task = a.migrate(ApiJson.MAPPER.createObjectNode().put("vmid", 100).put("target", "b")
                    .put("online", true).put("bwlimit", 2));
            answers.put("POST /migrations", task);
            String id = task.path("id").asText();
            // a running task's progress, then its result
            List<JsonNode> polls = new ArrayList<>();
            JsonNode t;
            do {
                Thread.sleep(100);
                t = a.get("/api/v1/tasks/" + id);
                polls.add(t);
            } while (t.path("status").asText().equals("running"));
            // a task keeps its last progress after its end: caught even when the migration outran the polls
            assertThat(polls).as("a poll caught the migration's progress").anyMatch(p -> p.has("progress"));
            polls.forEach(p -> answers.put("GET /tasks/{id} #" + answers.size(), p));
            assertThat(t.path("status").asText()).as(t.toPrettyString()).isEqualTo("completed");
            assertThat(t.at("/result/downtime_ms").isNumber()).as(t.toPrettyString()).isTrue();
            answers.put("GET /tasks/{id}/log", a.get("/api/v1/tasks/" + id + "/log"));
            answers.put("GET /tasks", a.get("/api/v1/tasks"));
            answers.put("GET /tasks?status=running", a.get("/api/v1/tasks?status=running"));
            answers.put("GET b /vms/100", c.client("b").get("/api/v1/vms/100"));

            assertThat(answers.get("GET b /vms/100").at("/config/migration/downtime_ms").asInt()).isEqualTo(1000);
            answers.forEach((route, json) -> assertThat(JsonKeys.notSnakeCase(json))
                    .as("keys of %s not in snake_case in %s", route, json).isEmpty());
            c.client("b").post("/api/v1/vms/100/stop", null);
        }
    }
}
