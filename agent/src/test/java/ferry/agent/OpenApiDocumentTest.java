package ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.migration.MigrationResult;
import ferry.migration.Plan;
import ferry.migration.Progress;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** The OpenAPI document at /api/openapi.json against what the agent really serves. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenApiDocumentTest {
    /**
     * Endpoints that are not part of the JSON API and so not in the document: pages for a browser
     * (the web UI), Prometheus' text format ({@code /metrics}), event streams. Each one added to
     * the agent is either documented in openapi.json or named here with the reason.
     */
    static final Set<String> NOT_IN_DOCUMENT = Set.of(
            "GET /ui", "GET /ui/assets/{file}",      // the web UI's page and its scripts, styles and chart library
            "POST /ui/login", "POST /ui/logout",    // the browser's session (a cookie), not a JSON API call
            "GET /metrics");                        // Prometheus' text format, read with the metrics token

    LocalCluster cluster;
    JsonNode doc;

    @BeforeAll
    void start(@TempDir Path dir) {
        try {
            cluster = new LocalCluster(dir.resolve("c"), "a", "b");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        doc = cluster.client("a").get(Routes.OPENAPI);
    }

    @AfterAll
    void stop() {
        cluster.close();
    }

    @Test
    void everyEndpointIsDocumentedAndEveryDocumentedOneExists() {
        Set<String> documented = new TreeSet<>();
        doc.path("paths").fields().forEachRemaining(p -> p.getValue().fieldNames().forEachRemaining(
                m -> documented.add(m.toUpperCase() + " " + p.getKey())));
        Set<String> served = new TreeSet<>(cluster.agents.get("a").endpoints());
        served.removeAll(NOT_IN_DOCUMENT);
        assertThat(served).as("served endpoints").isNotEmpty().contains("GET /api/v1/vms/{vmid}");
        assertThat(documented).as("documented in openapi.json").isEqualTo(served);
        assertThat(doc.path("openapi").asText()).startsWith("3.");
    }

    @Test
    void theDocumentedSchemasAreWhatTheAgentSerializes() {
        JsonNode schemas = doc.at("/components/schemas");
        assertThat(propertyNames(schemas.path("Progress"))).isEqualTo(keys(ApiJson.MAPPER.valueToTree(
                new Progress("precopy", "active", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11.0, 12))));
        assertThat(propertyNames(schemas.path("MigrationResult"))).isEqualTo(keys(ApiJson.MAPPER.valueToTree(
                new MigrationResult(MigrationResult.Status.COMPLETED, 100, "a", "b", true, 1, 1L, 1L, 1L, "budget", null,
                        List.of(), List.of(), null, 1L, 1, 0, false, List.of(), true))));
        JsonNode plan = ApiJson.MAPPER.valueToTree(Plan.of(new Plan.Inputs(1 << 30, 0.5, 1e6, 1 << 20, 1e8, "probe",
                300, 60_000, false, false, false)));
        assertThat(propertyNames(schemas.path("Plan"))).isEqualTo(keys(plan));
        assertThat(propertyNames(schemas.at("/Plan/properties/inputs"))).isEqualTo(keys(plan.path("inputs")));
        assertThat(propertyNames(schemas.path("Prediction"))).isEqualTo(keys(plan.at("/strategies/0")));
        var row = ferry.agent.evacuate.EvacuationRow.notSent(100, "vm", true, "skipped", null, null);
        assertThat(propertyNames(schemas.path("EvacuationRow"))).isEqualTo(keys(row.json()));
        assertThat(propertyNames(schemas.path("EvacuationSummary"))).isEqualTo(keys(
                ferry.agent.evacuate.EvacuationRow.report("a", 2, 5, List.of(row)).put("outcome", "completed")));
    }

    /** GET routes whose answer is not a JSON object or array of the document's schemas. */
    private static final Set<String> UNCHECKED_GETS = Set.of(
            "/api/openapi.json",            // the document itself
            "/api/v1/tasks/{id}/events");   // server-sent events

    /**
     * Every GET route of a running two-node cluster, asked after a real migration and an
     * evacuation so that each has something to show: every key of every answer (nested objects
     * and array elements too) is declared by the route's documented schema.
     */
    @Test
    void everyGetAnswersWithTheKeysItsSchemaDeclares() throws Exception {
        AgentClient a = cluster.defineOnA(101, "calm", AgentMetricsTest.CALM);
        AgentClient b = cluster.client("b");
        a.post("/api/v1/vms/101/start", null);
        String migration = a.post("/api/v1/migrations", java.util.Map.of("vmid", 101, "target", "b", "online", true))
                .path("id").asText();
        assertThat(cluster.await("a", migration, java.time.Duration.ofSeconds(60)).path("status").asText())
                .isEqualTo("completed");
        String evacuation = a.post("/api/v1/nodes/a/evacuate", java.util.Map.of()).path("id").asText();
        cluster.await("a", evacuation, java.time.Duration.ofSeconds(30));
        a.post("/api/v1/nodes/a/resume", null);

        java.util.Map<String, JsonNode> answers = new java.util.LinkedHashMap<>();
        answers.put("/api/v1/node", a.get("/api/v1/node"));
        answers.put("/api/v1/qemu", a.get("/api/v1/qemu"));
        answers.put("/api/v1/cluster", a.get("/api/v1/cluster"));
        answers.put("/api/v1/vms", b.get("/api/v1/vms"));
        answers.put("/api/v1/vms/{vmid}", b.get("/api/v1/vms/101"));
        answers.put("/api/v1/tasks", a.get("/api/v1/tasks"));
        answers.put("/api/v1/tasks/{id}", a.get("/api/v1/tasks/" + migration));
        answers.put("/api/v1/tasks/{id}/log", a.get("/api/v1/tasks/" + migration + "/log?from=0"));
        answers.put("/api/v1/incoming/{vmid}", b.get("/api/v1/incoming/101"));
        answers.put("/api/v1/storage", b.get("/api/v1/storage"));
        Set<String> gets = new TreeSet<>();
        doc.path("paths").fields().forEachRemaining(p -> {
            if (p.getValue().has("get") && !UNCHECKED_GETS.contains(p.getKey())) {
                gets.add(p.getKey());
            }
        });
        assertThat(answers.keySet()).as("every documented GET is asked").containsExactlyInAnyOrderElementsOf(gets);

        List<String> undeclared = new ArrayList<>();
        answers.forEach((path, answer) -> undeclared.addAll(undeclared(path, answer, responseSchema(path))));
        // the evacuation task too: the other shape /tasks/{id} answers
        undeclared.addAll(undeclared("/api/v1/tasks/{id}", a.get("/api/v1/tasks/" + evacuation),
                responseSchema("/api/v1/tasks/{id}")));
        undeclared.addAll(undeclared("/api/v1/node", b.get("/api/v1/node"), responseSchema("/api/v1/node")));
        assertThat(undeclared).as("keys the agent answers that openapi.json does not declare").isEmpty();
    }

    private JsonNode responseSchema(String path) {
        return doc.path("paths").path(path).path("get").path("responses").path("200").path("content")
                .path("application/json").path("schema");
    }

    private JsonNode resolve(JsonNode schema) {
        while (schema.has("$ref")) {
            schema = doc.at(schema.path("$ref").asText().substring(1));
        }
        return schema;
    }

    /** The keys of {@code value} (at {@code where}) that {@code schema} does not declare, nested ones included. */
    private List<String> undeclared(String where, JsonNode value, JsonNode schema) {
        schema = resolve(schema);
        List<String> out = new ArrayList<>();
        if (schema.has("oneOf")) {
            List<String> best = null;
            for (JsonNode alt : schema.path("oneOf")) {
                List<String> u = undeclared(where, value, alt);
                if (best == null || u.size() < best.size()) {
                    best = u;
                }
            }
            return best;
        }
        if (value.isArray() && schema.has("items")) {
            for (int i = 0; i < value.size(); i++) {
                out.addAll(undeclared(where + "[" + i + "]", value.get(i), schema.path("items")));
            }
        } else if (value.isObject() && (schema.has("properties") || schema.has("additionalProperties"))) {
            JsonNode props = schema.path("properties");
            JsonNode extra = schema.path("additionalProperties");
            value.fields().forEachRemaining(f -> {
                if (props.has(f.getKey())) {
                    out.addAll(undeclared(where + "." + f.getKey(), f.getValue(), props.path(f.getKey())));
                } else if (extra.isObject()) {
                    out.addAll(undeclared(where + "." + f.getKey(), f.getValue(), extra));
                } else if (!extra.asBoolean(false)) {
                    out.add(where + "." + f.getKey());
                }
            });
        }
        return out;
    }

    @Test
    void everyDocumentedPropertyIsSnakeCase() {
        List<String> bad = new ArrayList<>();
        collectProperties(doc.path("components"), bad);
        doc.path("paths").forEach(p -> collectProperties(p, bad));
        assertThat(bad).isEmpty();
    }

    @Test
    void aWrongMethodIs405WithTheMethodsThePathTakes() throws Exception {
        HttpResponse<String> r = cluster.client("a").exchange("PUT", "/api/v1/node", "{}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(405);
        assertThat(r.headers().firstValue("Allow")).hasValue("GET");
        assertThat(r.body()).contains("PUT is not a method of /api/v1/node").contains("node 'a'");
        r = cluster.client("a").exchange("GET", "/api/v1/vms/100/start", null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(405);
        assertThat(r.headers().firstValue("Allow")).hasValue("POST");
        r = cluster.client("a").exchange("GET", "/api/v1/nothing-here", null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(404);
        assertThat(r.body()).contains("no endpoint GET /api/v1/nothing-here").contains(Routes.OPENAPI);
    }

    private static Set<String> propertyNames(JsonNode schema) {
        Set<String> out = new TreeSet<>();
        schema.path("properties").fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static Set<String> keys(JsonNode json) {
        Set<String> out = new TreeSet<>();
        json.fieldNames().forEachRemaining(out::add);
        return out;
    }

    /** Names under every "properties" of the document that are not snake_case. */
    private static void collectProperties(JsonNode n, List<String> bad) {
        if (n.isObject()) {
            JsonNode props = n.path("properties");
            if (props.isObject()) {
                var tree = ApiJson.MAPPER.createObjectNode();
                props.fieldNames().forEachRemaining(k -> tree.putNull(k));
                bad.addAll(JsonKeys.notSnakeCase(tree));
            }
            n.forEach(c -> collectProperties(c, bad));
        } else if (n.isArray()) {
            n.forEach(c -> collectProperties(c, bad));
        }
    }
}
