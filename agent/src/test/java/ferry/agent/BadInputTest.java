package ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a new user gets wrong, answered with a 4xx that says what is wrong, and nothing changed
 * (no VM stored, no file written or removed outside a storage).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputTest {
    LocalCluster cluster;
    AgentClient a;
    Path kernel;
    Path root;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        root = dir;
        cluster = new LocalCluster(dir.resolve("c"), "a");
        a = cluster.client("a");
        kernel = Files.writeString(dir.resolve("vmlinuz"), "not really a kernel, but a file");
    }

    @AfterAll
    void stop() {
        cluster.close();
    }

    private HttpResponse<String> call(String method, String path, String body) throws Exception {
        return a.exchange(method, path, body);
    }

    private String vm(int vmid, String extra) {
        return "{\"vmid\":" + vmid + ",\"name\":\"v" + vmid + "\",\"memory\":64,\"boot\":{\"kernel\":\"" + kernel + "\"}"
                + extra + "}";
    }

    private void assertRefused(HttpResponse<String> r, int status, String... says) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode body = ApiJson.MAPPER.readTree(r.body());
        assertThat(body.path("error").asText()).as(r.body()).contains(says);
    }

    @Test
    void zeroVcpusIsRefusedAndAbsentMeansOne() throws Exception {
        assertRefused(call("POST", "/api/v1/vms", vm(400, ",\"vcpus\":0")), 400, "vcpus must be 1-512, got 0");
        assertThat(cluster.layout.open().vm(400)).isEmpty();
        HttpResponse<String> ok = call("POST", "/api/v1/vms", vm(401, ""));
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(201);
        assertThat(ApiJson.MAPPER.readTree(ok.body()).at("/config/vcpus").asInt()).isEqualTo(1);
    }

    @Test
    void unknownFieldsAreRefusedByName() throws Exception {
        assertRefused(call("POST", "/api/v1/vms", vm(402, ",\"vcpu\":2")), 400, "unknown field 'vcpu'", "vcpus");
        assertRefused(call("POST", "/api/v1/vms", vm(403, ",\"disks\":[{\"storage\":\"shared\",\"volume\":"
                + "\"vm-403-disk-0.raw\",\"sise\":1}]")), 400, "unknown field 'disks[0].sise'");
        assertRefused(call("POST", "/api/v1/vms", vm(404, ",\"migration\":{\"downtime\":100}")), 400,
                "unknown field 'migration.downtime'", "downtime_ms");
        assertThat(cluster.layout.open().vms()).noneMatch(r -> r.vmid() >= 402 && r.vmid() <= 404);
        assertRefused(call("POST", "/api/v1/migrations", "{\"vmid\":401,\"target\":\"a\",\"onlin\":true}"), 400,
                "unknown field 'onlin' in the migration request", "online");
        assertRefused(call("POST", "/api/v1/vms", "[1]"), 400, "a VM definition is a JSON object");
    }

    @Test
    void aBootFileOrVolumeThatDoesNotExistIsRefusedAtCreate() throws Exception {
        assertRefused(call("POST", "/api/v1/vms", "{\"vmid\":405,\"name\":\"k\",\"memory\":64,\"boot\":{\"kernel\":"
                + "\"/nowhere/vmlinuz\"}}"), 400, "boot file '/nowhere/vmlinuz' does not exist on node 'a'");
        assertThat(cluster.layout.open().vm(405)).isEmpty();
        Path volume = cluster.layout.storages("a").get("local").path().resolve("vm-408-disk-0.qcow2");
        String withDisk = vm(408, ",\"disks\":[{\"storage\":\"local\",\"volume\":\"vm-408-disk-0.qcow2\","
                + "\"format\":\"qcow2\"}]");
        assertRefused(call("POST", "/api/v1/vms", withDisk), 400, "volume 'vm-408-disk-0.qcow2' does not exist on storage "
                + "'local' of node 'a' (" + volume + "); create it first, e.g. qemu-img create -f qcow2 " + volume);
        assertThat(cluster.layout.open().vm(408)).isEmpty();
        Files.writeString(volume, "a volume");
        assertThat(call("POST", "/api/v1/vms", withDisk).statusCode()).isEqualTo(201);
    }

    @Test
    void aVolumePathCannotLeaveItsStorage() throws Exception {
        Path shared = cluster.layout.storages("a").get("shared").path();
        Path outside = shared.getParent().resolve("x");
        Files.writeString(outside, "must survive");
        String escape = "/api/v1/storage/shared/volumes/..%2Fx";
        assertRefused(call("PUT", escape, "bytes"), 400, "'../x' is not a volume name");
        assertRefused(call("PUT", "/api/v1/storage/shared/volumes/..%2F..%2F..%2Fx", "bytes"), 400, "not a volume name");
        assertRefused(call("DELETE", escape, null), 400, "not a volume name");
        assertRefused(call("POST", escape, "{\"size\":1048576}"), 400, "not a volume name");
        assertThat(outside).hasContent("must survive");
        assertRefused(call("DELETE", "/api/v1/storage/nope/volumes/vm-100-disk-0.raw", null), 404,
                "storage 'nope' does not exist on node 'a'", "local", "shared");
        assertRefused(call("PUT", "/api/v1/storage/shared/volumes/vm-100-disk-0.raw?bwlimit=-1", "x"), 400, "bwlimit");
        assertThat(shared.resolve("vm-100-disk-0.raw")).doesNotExist();
    }

    @Test
    void aVolumeThatExistsIsNeitherReceivedNorCreatedAgain() throws Exception {
        Path volume = cluster.layout.storages("a").get("shared").path().resolve("vm-409-disk-0.raw");
        Files.writeString(volume, "the copy already there");
        String says = "volume 'vm-409-disk-0.raw' already exists on storage 'shared' of node 'a'; nothing was written";
        String next = "remove it (DELETE /api/v1/storage/shared/volumes/vm-409-disk-0.raw on node 'a') and try again";
        assertRefused(call("PUT", "/api/v1/storage/shared/volumes/vm-409-disk-0.raw", "other bytes"), 409, says, next);
        assertRefused(call("POST", "/api/v1/storage/shared/volumes/vm-409-disk-0.raw",
                "{\"size\":1048576,\"format\":\"raw\"}"), 409, says, next);
        assertThat(volume).hasContent("the copy already there");
        // the other ordinary mistakes on these routes are 4xx too, and write nothing
        assertRefused(call("PUT", "/api/v1/storage/shared/volumes/vm-409-disk-1.raw?bwlimit=fast", "x"), 400,
                "not a number");
        assertRefused(call("POST", "/api/v1/storage/shared/volumes/vm-409-disk-1.raw", "{\"size\":\"1G\"}"), 400,
                "a new volume needs 'size' (bytes)");
        assertRefused(call("POST", "/api/v1/storage/shared/volumes/vm-409-disk-1.raw", "{\"size\":"), 400,
                "malformed JSON");
        assertThat(volume.resolveSibling("vm-409-disk-1.raw")).doesNotExist();
        assertRefused(call("POST", "/api/v1/incoming/409/exports", "{\"drives\":[\"drive-ide0\"]}"), 404,
                "VM 409 does not run on node 'a'; nothing to export");
        // what the message says to do works
        assertThat(call("DELETE", "/api/v1/storage/shared/volumes/vm-409-disk-0.raw", null).statusCode()).isEqualTo(200);
        assertThat(call("PUT", "/api/v1/storage/shared/volumes/vm-409-disk-0.raw", "other bytes").statusCode())
                .isEqualTo(201);
        assertThat(volume).hasContent("other bytes");
    }

    @Test
    void pausingOrResumingAStoppedVmSaysToStartIt() throws Exception {
        assertThat(call("POST", "/api/v1/vms", vm(406, "")).statusCode()).isEqualTo(201);
        assertRefused(call("POST", "/api/v1/vms/406/pause", null), 409,
                "cannot pause VM 406: it is stopped on node 'a'; start it with 'ferry vm start 406'");
        assertRefused(call("POST", "/api/v1/vms/406/resume", null), 409, "cannot resume VM 406: it is stopped");
        assertRefused(call("POST", "/api/v1/vms", vm(407, ",\"memory\":\"512MB\"").replace("\"memory\":64,", "")),
                400, "the VM definition has a bad value at 'memory'");
    }

    @Test
    void badQueryParametersAreRefused() throws Exception {
        assertRefused(call("GET", "/api/v1/tasks?status=done", null), 400, "'status' may only be 'running'");
        assertRefused(call("GET", "/api/v1/vms/abc", null), 400, "VM id must be a number");
    }
}
