package ferry.agent;

import static ferry.agent.Agent.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.TargetNode;
import ferry.node.VmDefinition;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A client of one node's agent over HTTPS with a client certificate: what the CLI uses (as the
 * admin), and the target side of a migration as the source's orchestrator reaches it (as its node).
 * The agent's certificate must be of the cluster's CA and name the address's host.
 */
public final class AgentClient implements TargetNode {
    private final String address;
    private final AgentCredentials credentials;
    private final HttpClient http;

    public AgentClient(String address, AgentCredentials credentials) {
        this.address = address;
        this.credentials = credentials;
        // HTTP/1.1: the agent's port speaks nothing else; the JDK checks the agent's certificate names our host
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1)
                .sslContext(credentials.tls()).build();
    }

    /** The agent answered with an error status; the message is the agent's own. */
    public static final class AgentException extends RuntimeException {
        private final int status;

        AgentException(int status, String message) {
            super(message);
            this.status = status;
        }

        /** The HTTP status (0 when the agent could not be reached). */
        public int status() {
            return status;
        }
    }

    public JsonNode get(String path) {
        return send(request(path).GET().build());
    }

    public JsonNode post(String path, Object body) {
        String json;
        try {
            json = body == null ? "{}" : JSON.writeValueAsString(body);
        } catch (IOException e) {
            throw new IllegalArgumentException(e);
        }
        return send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    /**
     * Any method on any path, the answer as it comes (status, headers, body): for checking what
     * the agent answers to requests the typed calls never make.
     */
    public HttpResponse<String> exchange(String method, String path, String body) throws IOException, InterruptedException {
        return http.send(request(path).method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("https://" + address + path)).timeout(Duration.ofSeconds(120));
    }

    private JsonNode send(HttpRequest req) {
        HttpResponse<String> resp;
        try {
            resp = http.send(req, HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new AgentException(0, "the agent at " + address + " does not answer (connection refused); is it "
                    + "running? ('ferry cluster up' starts local agents)");
        } catch (IOException e) {
            throw new AgentException(0, TlsFailure.explain(address, credentials, e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException(0, "interrupted while talking to the agent at " + address);
        }
        JsonNode body;
        try {
            body = resp.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(resp.body());
        } catch (IOException e) {
            throw new AgentException(resp.statusCode(), "the agent at " + address + " sent no JSON (HTTP "
                    + resp.statusCode() + ")");
        }
        if (resp.statusCode() == 401) {
            // we always present a certificate: a 401 means the agent did not get one it takes
            throw new AgentException(401, TlsFailure.refusedCertificate(address, credentials) + " (it answered: "
                    + body.path("error").asText("HTTP 401") + ")");
        }
        if (resp.statusCode() >= 300) {
            throw new AgentException(resp.statusCode(), body.path("error").asText("HTTP " + resp.statusCode()));
        }
        return body;
    }

    // ---- TargetNode ----------------------------------------------------------------------------

    @Override
    public String name() {
        return address;
    }

    @Override
    public Info probe() {
        JsonNode n = get("/api/v1/node");
        Set<String> storages = new HashSet<>();
        n.path("storages").forEach(s -> storages.add(s.asText()));
        Memory memory = n.has("mem_available_bytes") ? new Memory(n.path("mem_available_bytes").asLong(),
                n.path("mem_reserved_bytes").asLong()) : null; // an agent from before the memory check
        return new Info(n.path("node").asText(), n.path("qemu").asText(), storages, memory);
    }

    @Override
    public ferry.migration.QemuOffer qemuOffer() {
        return ferry.migration.QemuOffer.fromJson(get("/api/v1/qemu"));
    }

    @Override
    public QemuState state(int vmid) {
        JsonNode s = get("/api/v1/incoming/" + vmid);
        return new QemuState(s.path("exists").asBoolean(), s.path("run_state").asText("none"),
                s.path("migration").asText("none"));
    }

    @Override
    public Endpoint startIncoming(VmDefinition vm, Set<String> capabilities, ObjectNode parameters, String source,
                                  boolean tls) {
        return endpoint(post("/api/v1/incoming", Map.of("vm", vm, "capabilities", capabilities, "parameters",
                parameters == null ? JSON.createObjectNode() : parameters, "source", source, "tls", tls)));
    }

    @Override
    public Endpoint probeSink() {
        return endpoint(post("/api/v1/probe-sink", null));
    }

    @Override
    public Endpoint recover(int vmid) {
        return endpoint(post("/api/v1/incoming/" + vmid + "/recover", null));
    }

    private static Endpoint endpoint(JsonNode ep) {
        Set<String> caps = new HashSet<>();
        ep.path("capabilities").forEach(c -> caps.add(c.asText()));
        return new Endpoint(ep.path("host").asText(), ep.path("port").asInt(), caps);
    }

    @Override
    public void resume(int vmid) {
        try {
            post("/api/v1/incoming/" + vmid + "/resume", null);
        } catch (AgentException e) {
            if (e.status() == 404) {
                throw new NoQemuException(e.getMessage());
            }
            throw e;
        }
    }

    @Override
    public void stop(int vmid) {
        post("/api/v1/incoming/" + vmid + "/stop", null);
    }

    @Override
    public void receiveVolume(VmDefinition.Disk disk, Path from, Integer bwlimitMiBps) {
        String q = bwlimitMiBps == null ? "" : "?bwlimit=" + bwlimitMiBps;
        try {
            send(request(volumePath(disk) + q).PUT(HttpRequest.BodyPublishers.ofInputStream(() -> open(from))).build());
        } catch (AgentException e) {
            throw new AgentException(e.status(), "copy of volume '" + disk.volume() + "': " + e.getMessage());
        }
    }

    private static InputStream open(Path p) {
        try {
            return Files.newInputStream(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public List<String> freeVolumes(List<VmDefinition.Disk> disks) {
        List<String> left = new ArrayList<>();
        for (VmDefinition.Disk d : disks) {
            try {
                send(request(volumePath(d)).DELETE().build()).path("left").forEach(v -> left.add(v.asText()));
            } catch (AgentException e) {
                left.add(d.storage() + ":" + d.volume());
            }
        }
        return left;
    }

    @Override
    public Map<String, StorageInfo> storages() {
        Map<String, StorageInfo> out = new java.util.LinkedHashMap<>();
        get("/api/v1/storage").forEach(s -> out.put(s.path("id").asText(), new StorageInfo(s.path("id").asText(),
                s.path("shared").asBoolean(), s.path("usable_bytes").asLong())));
        return out;
    }

    @Override
    public void createVolume(VmDefinition.Disk disk, long virtualSize) {
        post(volumePath(disk), Map.of("size", virtualSize, "format", disk.formatOrRaw()));
    }

    @Override
    public Endpoint exportDisks(int vmid, List<String> drives) {
        return endpoint(post("/api/v1/incoming/" + vmid + "/exports", Map.of("drives", drives)));
    }

    private static String volumePath(VmDefinition.Disk d) {
        return "/api/v1/storage/" + enc(d.storage()) + "/volumes/" + enc(d.volume());
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** Starts a migration task on this (source) agent; a refusal comes back as an AgentException with 409. */
    public JsonNode migrate(ObjectNode request) {
        return post("/api/v1/migrations", request);
    }
}
