package ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.migration.MigrationResult;
import ferry.migration.Plan;
import ferry.migration.Progress;
import ferry.testkit.JsonKeys;
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
            cluster = new LocalCluster(dir.resolve("c"), "a");
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
