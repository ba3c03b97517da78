package ferry.agent;

import static ferry.agent.Agent.JSON;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterException;
import ferry.cluster.ClusterStore;
import ferry.cluster.NodeLease;
import ferry.cluster.VmRecord;
import ferry.migration.LocalTarget;
import ferry.migration.Migration;
import ferry.migration.MigrationRefused;
import ferry.migration.MigrationRequest;
import ferry.migration.MigrationResult;
import ferry.migration.TargetNode;
import ferry.migration.TaskLog;
import ferry.migration.Tuning;
import ferry.migration.policy.Policies;
import ferry.node.LocalNode;
import ferry.node.NodeException;
import ferry.node.VmDefinition;
import ferry.qmp.QmpException;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.MethodNotAllowedResponse;
import io.javalin.http.NotFoundResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** The agent's HTTP API, version 1. Errors are {"error": "..."} with a status that says whose fault. */
final class Routes {
    private final String node;
    private final ClusterStore store;
    private final LocalNode local;
    private final Migration migration;
    private final LocalTarget target;
    private final Tasks tasks;
    private final LockHolders holders;
    private final TaskHistory history;
    private final PeerAccess access;
    private final EvacuationTasks evacuations;

    private volatile NodeLease lease;
    private volatile java.time.Duration leaseTtl;

    /** The liveness claim this node's agent keeps, shown by {@code GET /api/v1/node}. */
    void lease(NodeLease l, java.time.Duration ttl) {
        this.leaseTtl = ttl;
        this.lease = l;
    }

    Routes(String node, ClusterStore store, LocalNode local, Migration migration, LocalTarget target, Tasks tasks,
           LockHolders holders, java.util.function.Function<String, AgentClient> agents) {
        this.node = node;
        this.store = store;
        this.local = local;
        this.migration = migration;
        this.target = target;
        this.tasks = tasks;
        this.holders = holders;
        this.history = new TaskHistory(node, store, tasks);
        this.access = new PeerAccess(node, store, Routes::json, Boolean.getBoolean(Agent.ALLOW_PLAIN_STREAMS));
        this.evacuations = new EvacuationTasks(node, store, tasks, new EvacuationTasks.Migrations() {
            @Override
            public JsonNode vms() {
                return vmList();
            }

            @Override
            public Task start(JsonNode request) {
                return startMigration(request);
            }

            @Override
            public JsonNode plan(JsonNode request) {
                return Routes.this.plan(request, request.path("vmid").asInt());
            }
        }, agents);
    }

    /** The evacuations this agent runs (stopped before its migrations are waited for at close). */
    EvacuationTasks evacuations() {
        return evacuations;
    }

    /** The outcome a journal closed by a person's {@code unlock --force} records. */
    static final String ABANDONED = "abandoned-by-unlock";

    void install(Javalin app) {
        // who the client is comes from its certificate (checked in the TLS handshake); what it may call, here
        app.beforeMatched(access::check);
        app.get(OPENAPI, ctx -> ctx.contentType("application/json").result(openApi()));
        app.get("/api/v1/node", ctx -> {
            var o = JSON.createObjectNode().put("node", node).put("qemu", local.qemu().version())
                    .put("qemu_binary", local.qemu().path().toString()).put("store", store.location());
            o.set("storages", JSON.valueToTree(local.storages().keySet()));
            TargetNode.Memory m = target.probe().memory();
            o.put("mem_total_bytes", ferry.node.HostMemory.now().totalBytes())
                    .put("mem_available_bytes", m.availableBytes()).put("mem_reserved_bytes", m.reservedBytes())
                    .put("mem_for_vms_bytes", m.forVms());
            // the evacuation this agent runs now, for the UI of any node to link to
            evacuations.running().ifPresent(e -> o.put("evacuation", e.id()));
            NodeLease l = lease;
            if (l != null) {
                o.putObject("lease").put("held", l.held()).put("ttl_s", leaseTtl.toSeconds()).put("retaken", l.renewals());
            }
            ctx.json(o);
        });
        app.get("/api/v1/qemu", ctx -> ctx.json(target.qemuOffer().toJson()));
        app.get("/api/v1/vms", ctx -> ctx.json(vmList()));
        app.post("/api/v1/vms", this::createVm);
        app.get("/api/v1/vms/{vmid}", ctx -> ctx.json(vmJson(record(ctx))));
        app.post("/api/v1/vms/{vmid}/start", this::startVm);
        app.post("/api/v1/vms/{vmid}/stop", this::stopVm);
        // a live or unfinished migration owns the guest's run state: pausing or resuming could run it twice
        app.post("/api/v1/vms/{vmid}/pause", ctx -> {
            holders.refuseIfHeld(owned(ctx).vmid(), "pause");
            requireQemu(vmid(ctx), "pause");
            local.pause(vmid(ctx));
            ctx.json(vmJson(record(ctx)));
        });
        app.post("/api/v1/vms/{vmid}/resume", ctx -> {
            holders.refuseIfHeld(owned(ctx).vmid(), "resume");
            requireQemu(vmid(ctx), "resume");
            local.resume(vmid(ctx));
            ctx.json(vmJson(record(ctx)));
        });
        app.post("/api/v1/vms/{vmid}/unlock", this::unlockVm);
        // the target side of a migration: the VM is still owned by the source here
        app.post("/api/v1/incoming", ctx -> {
            IncomingRequest in = body(ctx, IncomingRequest.class);
            if (in.vm() == null) {
                throw new BadRequest("an incoming migration needs 'vm' (the VM definition) and 'capabilities'");
            }
            if (in.parameters() != null) {
                in.parameters().fieldNames().forEachRemaining(n -> {
                    if (!TargetNode.INCOMING_PARAMETERS.contains(n)) {
                        throw new BadRequest("an incoming migration takes only the parameters "
                                + TargetNode.INCOMING_PARAMETERS + ", not '" + n + "'");
                    }
                });
            }
            boolean tls = Boolean.TRUE.equals(in.tls());
            if (tls && (in.source() == null || in.source().isBlank())) {
                throw new BadRequest("an incoming TLS migration needs 'source' (the node whose certificate is admitted)");
            }
            ctx.json(endpointJson(target.startIncoming(in.vm(), in.capabilities() == null ? Set.of() : in.capabilities(),
                    in.parameters(), in.source(), tls)));
        });
        app.post("/api/v1/probe-sink", ctx -> ctx.json(endpointJson(target.probeSink())));
        app.post("/api/v1/vms/{vmid}/plan", this::plan);
        app.get("/api/v1/incoming/{vmid}", ctx -> {
            TargetNode.QemuState s = target.state(vmid(ctx));
            ctx.json(JSON.createObjectNode().put("exists", s.exists()).put("run_state", s.runState())
                    .put("migration", s.migration()));
        });
        app.post("/api/v1/incoming/{vmid}/recover", ctx -> ctx.json(endpointJson(target.recover(vmid(ctx)))));
        app.post("/api/v1/incoming/{vmid}/resume", ctx -> {
            target.resume(vmid(ctx));
            ctx.json(JSON.createObjectNode().put("resumed", true));
        });
        app.post("/api/v1/incoming/{vmid}/stop", ctx -> {
            target.stop(vmid(ctx));
            ctx.json(JSON.createObjectNode().put("stopped", true));
        });
        app.put("/api/v1/storage/{storage}/volumes/{volume}", ctx -> {
            String bw = ctx.queryParam("bwlimit");
            VmDefinition.Disk disk = disk(ctx);
            if (bw != null && Integer.parseInt(bw) <= 0) {
                throw new BadRequest("'bwlimit' must be a whole number of MiB/s above zero, got " + bw);
            }
            target.receiveVolume(disk, ctx.bodyInputStream(), bw == null ? null : Integer.parseInt(bw));
            ctx.status(201).json(JSON.createObjectNode().put("received", ctx.pathParam("volume")));
        });
        // a disk mirror's target side: storages with their room, an empty volume, the NBD exports
        app.get("/api/v1/storage", ctx -> ctx.json(target.storages()));
        app.post("/api/v1/storage/{storage}/volumes/{volume}", ctx -> {
            JsonNode b = json(ctx);
            if (!b.path("size").canConvertToLong() || b.path("size").asLong() <= 0
                    || !List.of("raw", "qcow2").contains(b.path("format").asText("raw"))) {
                throw new BadRequest("a new volume needs 'size' (bytes) and 'format' (raw or qcow2)");
            }
            VmDefinition.Disk d = disk(ctx);
            target.createVolume(new VmDefinition.Disk(d.storage(), d.volume(), b.path("format").asText("raw"), null),
                    b.path("size").asLong());
            ctx.status(201).json(JSON.createObjectNode().put("created", d.volume()));
        });
        app.post("/api/v1/incoming/{vmid}/exports", ctx -> {
            List<String> drives = new ArrayList<>();
            json(ctx).path("drives").forEach(d -> drives.add(d.asText()));
            ctx.json(endpointJson(target.exportDisks(vmid(ctx), drives)));
        });
        app.delete("/api/v1/storage/{storage}/volumes/{volume}", ctx ->
                ctx.json(JSON.createObjectNode().set("left", JSON.valueToTree(target.freeVolumes(List.of(disk(ctx)))))));
        app.post("/api/v1/migrations", this::startMigration);
        app.get("/api/v1/tasks", ctx -> {
            String status = ctx.queryParam("status");
            if (status != null && !status.equals("running")) {
                throw new BadRequest("'status' may only be 'running' (or absent for every task), got '" + status + "'");
            }
            ctx.json(status != null ? history.running() : history.list());
        });
        app.get("/api/v1/tasks/{id}", ctx -> {
            var e = evacuations.get(ctx.pathParam("id"));
            ctx.json(e.isPresent() ? evacuations.json(e.get()) : taskJson(task(ctx)));
        });
        app.get("/api/v1/tasks/{id}/log", ctx -> {
            var e = evacuations.get(ctx.pathParam("id"));
            if (e.isPresent()) {
                taskLog(ctx, e.get().log(), e.get().result(), e.get()::status);
            } else {
                Task t = task(ctx);
                taskLog(ctx, t.log(), t.result(), t::status);
            }
        });
        app.post("/api/v1/tasks/{id}/cancel", ctx -> {
            var e = evacuations.get(ctx.pathParam("id"));
            if (e.isPresent()) {
                e.get().evacuation().stop(); // the migrations under way end on their own (or are cancelled one by one)
                e.get().log().info("stopping: no further VM will be started; the migrations under way go on");
                ctx.json(evacuations.json(e.get()));
                return;
            }
            Task t = task(ctx);
            t.cancel().cancel("cancelled by the user");
            ctx.json(taskJson(t));
        });
        app.post("/api/v1/nodes/{node}/evacuate", this::evacuate);
        app.post("/api/v1/nodes/{node}/resume", this::resumeNode);
        errors(app);
    }

    /**
     * What the source sends to start the target: the VM, the capabilities both ends need, and the
     * parameters the target needs to decode the stream.
     */
    /**
     * @param source the migration's source node: with {@code tls}, the only node whose certificate
     *               the incoming QEMU admits
     * @param tls    the stream goes over QEMU's TLS (absent: plain TCP, as agents before TLS sent)
     */
    record IncomingRequest(VmDefinition vm, Set<String> capabilities, ObjectNode parameters, String source,
                           Boolean tls) {}

    private static ObjectNode endpointJson(TargetNode.Endpoint ep) {
        ObjectNode o = JSON.createObjectNode().put("host", ep.host()).put("port", ep.port());
        o.set("capabilities", JSON.valueToTree(ep.capabilities()));
        return o;
    }

    /** Where the API describes itself (OpenAPI 3), a document kept beside this class. */
    static final String OPENAPI = "/api/openapi.json";

    private static byte[] openApi() throws java.io.IOException {
        try (var in = Routes.class.getResourceAsStream("openapi.json")) {
            return in.readAllBytes();
        }
    }

    private void errors(Javalin app) {
        app.exception(MethodNotAllowedResponse.class, (e, ctx) -> {
            String allowed = e.getDetails().getOrDefault("availableMethods", "");
            ctx.status(405).header("Allow", allowed).json(error(ctx.method().name() + " is not a method of "
                    + ctx.path() + " on node '" + node + "'; it takes " + allowed + " (see " + OPENAPI + ")"));
        });
        app.exception(NotFoundResponse.class, (e, ctx) -> ctx.status(404).json(error("node '" + node + "' has no "
                + "endpoint " + ctx.method().name() + " " + ctx.path() + "; the API is described at " + OPENAPI)));
        app.exception(PeerAccess.Forbidden.class, (e, ctx) -> ctx.status(403).json(error(e.getMessage())));
        app.exception(MigrationRefused.class, (e, ctx) -> ctx.status(409).json(error(e.getMessage())));
        app.exception(ClusterException.class, (e, ctx) -> ctx.status(switch (e.reason()) {
            case NOT_FOUND -> 404;
            case EXISTS, LOCKED, NOT_OWNER, CONFLICT -> 409;
            case UNKNOWN_NODE, INVALID -> 400;
            case IO -> 500;
        }).json(error(e.getMessage())));
        app.exception(BadRequest.class, (e, ctx) -> ctx.status(400).json(error(e.getMessage())));
        app.exception(NotFound.class, (e, ctx) -> ctx.status(404).json(error(e.getMessage())));
        app.exception(TargetNode.NoQemuException.class, (e, ctx) -> ctx.status(404).json(error(e.getMessage())));
        app.exception(ferry.node.VolumeExists.class, (e, ctx) -> ctx.status(409).json(error(e.getMessage())));
        app.exception(NodeException.class, (e, ctx) -> ctx.status(500).json(error(e.getMessage())));
        app.exception(QmpException.class, (e, ctx) -> ctx.status(500).json(error(e.getMessage())));
        app.exception(NumberFormatException.class, (e, ctx) -> ctx.status(400).json(error("not a number: " + e.getMessage())));
    }

    static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    static final class BadRequest extends RuntimeException {
        BadRequest(String m) {
            super(m);
        }
    }

    static final class NotFound extends RuntimeException {
        NotFound(String m) {
            super(m);
        }
    }

    private static <T> T body(Context ctx, Class<T> type) {
        return value(json(ctx), type, type.getSimpleName());
    }

    /** The JSON as a {@code type}; an unknown field is refused by name and place. */
    private static <T> T value(JsonNode tree, Class<T> type, String what) {
        try {
            return JSON.treeToValue(tree, type);
        } catch (UnrecognizedPropertyException e) {
            throw new BadRequest("unknown field '" + place(e) + "' in " + what + "; the fields there are "
                    + String.join(", ", e.getKnownPropertyIds().stream().map(Object::toString).sorted().toList()));
        } catch (JsonProcessingException e) {
            throw new BadRequest(what + (e instanceof JsonMappingException m && !m.getPath().isEmpty()
                    ? " has a bad value at '" + place(m) + "'" : " is malformed") + ": " + e.getOriginalMessage());
        }
    }

    /** Where in the document a mapping failed, e.g. {@code disks[0].sise}. */
    private static String place(JsonMappingException e) {
        StringBuilder out = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                out.append(out.isEmpty() ? "" : ".").append(r.getFieldName());
            } else {
                out.append('[').append(r.getIndex()).append(']');
            }
        }
        return out.toString();
    }

    private static int vmid(Context ctx) {
        try {
            return Integer.parseInt(ctx.pathParam("vmid"));
        } catch (NumberFormatException e) {
            throw new BadRequest("VM id must be a number, got '" + ctx.pathParam("vmid") + "'");
        }
    }

    private VmRecord record(Context ctx) {
        int id = vmid(ctx);
        return store.vm(id).orElseThrow(() -> new NotFound("VM " + id + " does not exist in this cluster"));
    }

    private VmRecord owned(Context ctx) {
        VmRecord r = record(ctx);
        if (!r.owner().equals(node)) {
            throw new ClusterException(ClusterException.Reason.NOT_OWNER, "VM " + r.vmid() + " is owned by node '"
                    + r.owner() + "', not by '" + node + "'; ask that node's agent");
        }
        return r;
    }

    private VmDefinition definition(VmRecord r) {
        try {
            return VmDefinition.fromRecord(r.config());
        } catch (JsonProcessingException e) {
            throw new NodeException("VM " + r.vmid() + " has an unreadable definition: " + e.getOriginalMessage());
        }
    }

    /** The volume a storage path names: a plain name on a storage of this node (nothing outside it). */
    private VmDefinition.Disk disk(Context ctx) {
        String storage = ctx.pathParam("storage");
        String volume = ctx.pathParam("volume");
        if (!VmDefinition.plainVolume(volume)) {
            throw new BadRequest("'" + volume + "' is not a volume name: a plain file name (letters, digits, '.', '_', "
                    + "'-'; no '/' and no '..')");
        }
        if (!local.storages().containsKey(storage)) {
            throw new NotFound("storage '" + storage + "' does not exist on node '" + node + "'; it has "
                    + String.join(", ", local.storages().keySet()));
        }
        return new VmDefinition.Disk(storage, volume, null, null);
    }

    ArrayNode vmList() {
        ArrayNode out = JSON.createArrayNode();
        for (VmRecord r : store.vms()) {
            out.add(vmJson(r));
        }
        return out;
    }

    private ObjectNode vmJson(VmRecord r) {
        ObjectNode o = JSON.createObjectNode().put("vmid", r.vmid()).put("owner", r.owner());
        o.put("name", r.config().path("name").asText());
        if (r.lock() != null) {
            o.put("lock", r.lock());
        }
        if (r.lockHolder() != null) {
            o.put("lock_task", r.lockHolder().task()).put("lock_node", r.lockHolder().node());
        }
        if (r.owner().equals(node)) {
            LocalNode.Status s = local.status(r.vmid());
            o.put("status", s.state().name().toLowerCase()).put("qemu_status", s.qemuStatus());
            if (s.pid() != null) {
                o.put("pid", s.pid());
            }
        }
        o.set("config", r.config());
        return o;
    }

    private void createVm(Context ctx) {
        JsonNode tree = json(ctx);
        if (!(tree instanceof ObjectNode given)) {
            throw new BadRequest("a VM definition is a JSON object, got " + tree.getNodeType().name().toLowerCase());
        }
        if (!given.has("vcpus")) {
            given.put("vcpus", 1); // absent means one; an explicit 0 is refused below
        }
        VmDefinition vm = value(given, VmDefinition.class, "the VM definition");
        List<String> problems = vm.problems();
        if (!problems.isEmpty()) {
            throw new BadRequest("invalid VM definition: " + String.join("; ", problems));
        }
        for (VmDefinition.Disk d : vm.disks()) {
            if (d.emptyDrive()) {
                continue;
            }
            if (!local.storages().containsKey(d.storage())) {
                throw new BadRequest("storage '" + d.storage() + "' does not exist on node '" + node + "'; it has "
                        + String.join(", ", local.storages().keySet()));
            }
            // as with the boot files: a missing volume would fail only at 'vm start'
            java.nio.file.Path file = local.storages().get(d.storage()).volumePath(d.volume());
            if (!java.nio.file.Files.exists(file)) {
                throw new BadRequest("volume '" + d.volume() + "' does not exist on storage '" + d.storage()
                        + "' of node '" + node + "' (" + file + "); create it first, e.g. qemu-img create -f "
                        + d.formatOrRaw() + " " + file + " 1G");
            }
        }
        // the files are read at every start: a path that does not exist would fail only at 'vm start'
        if (vm.boot() != null) {
            for (String file : java.util.Arrays.asList(vm.boot().kernel(), vm.boot().initrd())) {
                if (file != null && !java.nio.file.Files.isRegularFile(java.nio.file.Path.of(file))) {
                    throw new BadRequest("boot file '" + file + "' does not exist on node '" + node + "' (it must be "
                            + "a file on every node the VM may run on)");
                }
            }
        }
        VmRecord r = store.create(node, vm.vmid(), JSON.valueToTree(vm));
        ctx.status(201).json(vmJson(r));
    }

    /** A pause or resume needs the VM's QEMU: a stopped VM is the user's mistake (409), not the node's. */
    private void requireQemu(int vmid, String action) {
        if (local.status(vmid).state() == LocalNode.State.STOPPED) {
            throw new ClusterException(ClusterException.Reason.CONFLICT, "cannot " + action + " VM " + vmid + ": it is "
                    + "stopped on node '" + node + "'; start it with 'ferry vm start " + vmid + "'");
        }
    }

    private void startVm(Context ctx) {
        VmRecord r = owned(ctx);
        if (r.locked()) {
            throw new ClusterException(ClusterException.Reason.LOCKED, "VM " + r.vmid() + " is locked (" + r.lock()
                    + ") on node '" + node + "'");
        }
        local.start(definition(r));
        ctx.json(vmJson(store.vm(r.vmid()).orElseThrow()));
    }

    private void stopVm(Context ctx) {
        VmRecord r = owned(ctx);
        if (r.locked()) {
            throw new ClusterException(ClusterException.Reason.LOCKED, "VM " + r.vmid() + " is locked (" + r.lock()
                    + ") on node '" + node + "'; cancel the migration first");
        }
        local.stop(r.vmid(), Duration.ofSeconds(30));
        ctx.json(vmJson(store.vm(r.vmid()).orElseThrow()));
    }

    /**
     * A person's unlock: refused while a task runs the VM's migration; an unfinished migration
     * whose task is gone is abandoned only with {@code force=true}. Answers the VM and a message.
     */
    private void unlockVm(Context ctx) {
        VmRecord r = owned(ctx);
        boolean force = Boolean.parseBoolean(ctx.queryParam("force"));
        if (!r.locked()) {
            ctx.json(vmJson(r).put("message", "VM " + r.vmid() + " is not locked; nothing changed"));
            return;
        }
        var holder = holders.of(r.vmid());
        String message = "VM " + r.vmid() + ": lock '" + r.lock() + "' cleared";
        if (holder.isPresent()) {
            LockHolders.Holder h = holder.get();
            if (h.liveness() == LockHolders.Liveness.RUNNING || !force) {
                throw new ClusterException(ClusterException.Reason.LOCKED, h.refusal("unlock"));
            }
            migration.abandon(h.taskId(), ABANDONED);
            message += "; the journal of migration task " + h.taskId() + " (node '" + h.node() + "', last step "
                    + h.lastStep() + ") is closed as " + ABANDONED;
        }
        ctx.json(vmJson(store.unlock(r.vmid(), node, null)).put("message", message));
    }

    private void startMigration(Context ctx) {
        ctx.status(202).json(taskJson(startMigration(json(ctx))));
    }

    /** Prepares and starts a migration from this node (a refusal is thrown before anything changes). */
    private Task startMigration(JsonNode body) {
        MigrationRequest req = migrationRequest(body, null);
        String id = tasks.newId(req.vmid());
        TaskLog taskLog = tasks.newLog(id);
        Migration.Prepared prepared = migration.prepare(req, id, taskLog);
        return tasks.start(id, migration, prepared, taskLog);
    }

    /** The fields of an evacuation's request beside the migration options it gives every VM. */
    private static final Set<String> EVACUATION_FIELDS = Set.of("to", "all", "parallel", "cluster_limit", "lock_wait");
    /** Migration fields an evacuation sets itself for each VM. */
    private static final Set<String> PER_VM_FIELDS = Set.of("vmid", "target", "online", "sample_seconds");

    /**
     * {@code POST /nodes/{node}/evacuate}: maintenance on, then every VM moved off the node by an
     * evacuation task of its own agent (the source of every migration: another agent refuses).
     */
    private void evacuate(Context ctx) {
        String asked = knownNode(ctx);
        if (!asked.equals(node)) {
            throw new ClusterException(ClusterException.Reason.NOT_OWNER, "node '" + asked + "' is evacuated by its "
                    + "own agent, the source of its migrations; ask it (https://" + store.config().node(asked)
                    .orElseThrow().agentAddress() + "), not node '" + node + "'");
        }
        JsonNode b = json(ctx);
        if (!b.isObject()) {
            throw new BadRequest("an evacuation request is a JSON object (every field may be left out)");
        }
        ObjectNode request = JSON.createObjectNode();
        b.fields().forEachRemaining(f -> {
            if (!EVACUATION_FIELDS.contains(f.getKey())) {
                if (!MIGRATION_FIELDS.contains(f.getKey()) || PER_VM_FIELDS.contains(f.getKey())) {
                    throw new BadRequest("unknown field '" + f.getKey() + "' in the evacuation request; the fields are "
                            + String.join(", ", java.util.stream.Stream.concat(EVACUATION_FIELDS.stream(),
                                    MIGRATION_FIELDS.stream().filter(m -> !PER_VM_FIELDS.contains(m))).sorted()
                                    .toList()));
                }
                request.set(f.getKey(), f.getValue());
            }
        });
        migrationRequest(request.deepCopy().put("vmid", 1).put("target", node), null); // the options, checked once
        List<String> to = new ArrayList<>();
        if (b.hasNonNull("to")) {
            if (!b.path("to").isArray()) {
                throw new BadRequest("'to' is a list of node names, e.g. [\"b\", \"c\"]");
            }
            b.path("to").forEach(n -> to.add(n.asText()));
        }
        if (b.has("all") && !b.path("all").isBoolean()) {
            throw new BadRequest("'all' must be true or false");
        }
        Integer parallel = positive(b, "parallel");
        Integer clusterLimit = positive(b, "cluster_limit");
        if (b.hasNonNull("lock_wait") && (!b.path("lock_wait").canConvertToInt() || b.path("lock_wait").asInt() < 0)) {
            throw new BadRequest("'lock_wait' must be a whole number of seconds, 0 or more, got " + b.path("lock_wait"));
        }
        try {
            ferry.agent.evacuate.EvacuationTargets.check(store.currentConfig(), node, to, "'to'");
        } catch (IllegalArgumentException e) {
            throw new BadRequest(e.getMessage());
        }
        evacuations.refuseIfRunning();
        var settings = new ferry.agent.evacuate.Evacuation.Settings(node, to, b.path("all").asBoolean(false),
                parallel == null ? 2 : parallel, clusterLimit == null ? 5 : clusterLimit,
                Duration.ofSeconds(b.path("lock_wait").asInt(600)), request);
        store.maintenance(node, true); // first: nothing may arrive while the node empties
        ctx.status(202).json(evacuations.json(evacuations.start(settings)));
    }

    /** {@code POST /nodes/{node}/resume}: maintenance over (any agent: it is the cluster store's flag). */
    private void resumeNode(Context ctx) {
        String asked = knownNode(ctx);
        if (asked.equals(node)) {
            evacuations.running().ifPresent(e -> {
                throw new ClusterException(ClusterException.Reason.CONFLICT, "node '" + node + "' is being evacuated "
                        + "by task " + e.id() + "; cancel it before resuming the node");
            });
        }
        boolean on = store.maintenance(asked, false).node(asked).orElseThrow().maintenance();
        ctx.json(JSON.createObjectNode().put("node", asked).put("maintenance", on));
    }

    private String knownNode(Context ctx) {
        String asked = ctx.pathParam("node");
        if (store.config().node(asked).isEmpty()) {
            throw new NotFound("node '" + asked + "' is not in this cluster; its nodes are "
                    + String.join(", ", store.config().nodeNames()));
        }
        return asked;
    }

    /** {@code POST /vms/{vmid}/plan}: the pre-flight prediction; takes a few seconds, changes nothing. */
    private void plan(Context ctx) {
        ctx.json(plan(json(ctx), vmid(ctx)));
    }

    /** The plan of a migration request: the route's answer, and what an evacuation ranks each target by. */
    private JsonNode plan(JsonNode b, int vmid) {
        MigrationRequest req = migrationRequest(b, vmid);
        Integer sample = positive(b, "sample_seconds");
        return JSON.valueToTree(migration.plan(req, Duration.ofSeconds(sample == null ? 3 : Math.min(sample, 60))));
    }

    static JsonNode json(Context ctx) {
        try {
            JsonNode b = JSON.readTree(ctx.body());
            return b == null ? JSON.createObjectNode() : b;
        } catch (JsonProcessingException e) {
            throw new BadRequest("malformed JSON: " + e.getOriginalMessage());
        }
    }

    /** The fields of a migration request ({@code sample_seconds}: a plan's only). */
    private static final Set<String> MIGRATION_FIELDS = Set.of("vmid", "target", "online", "force", "bwlimit",
            "downtime", "policy", "max_duration", "allow_throttle", "allow_postcopy", "allow_pause", "recover_wait",
            "tuning", "with_local_disks", "target_storage", "unsafe", "mirror_mode", "tls", "sample_seconds");

    /** A migration request from its JSON; {@code vmid} from the path when given. */
    private static MigrationRequest migrationRequest(JsonNode b, Integer vmid) {
        if (!b.isObject()) {
            throw new BadRequest("a migration request is a JSON object");
        }
        b.fieldNames().forEachRemaining(f -> {
            if (!MIGRATION_FIELDS.contains(f) || f.equals("sample_seconds") && vmid == null) {
                throw new BadRequest("unknown field '" + f + "' in the migration request; the fields are "
                        + String.join(", ", MIGRATION_FIELDS.stream().sorted().toList()));
            }
        });
        if (vmid == null && !b.path("vmid").canConvertToInt() || !b.path("target").isTextual()) {
            throw new BadRequest("a migration needs 'vmid' (number) and 'target' (node name)");
        }
        MigrationRequest req = new MigrationRequest(vmid != null ? vmid : b.path("vmid").asInt(),
                b.path("target").asText(), b.path("online").asBoolean(vmid != null), b.path("force").asBoolean(false),
                positive(b, "bwlimit"), positive(b, "downtime"), b.hasNonNull("policy") ? b.path("policy").asText() : null,
                new MigrationRequest.Limits(positive(b, "max_duration"), b.path("allow_throttle").asBoolean(false),
                        b.path("allow_postcopy").asBoolean(false), b.path("allow_pause").asBoolean(false),
                        positive(b, "recover_wait")), tuning(b.path("tuning")),
                new MigrationRequest.DiskOptions(b.path("with_local_disks").asBoolean(false),
                        b.hasNonNull("target_storage") ? b.path("target_storage").asText() : null,
                        b.path("unsafe").asBoolean(false),
                        b.hasNonNull("mirror_mode") ? b.path("mirror_mode").asText() : null));
        if (b.has("tls") && !b.path("tls").isBoolean()) {
            throw new BadRequest("'tls' must be true or false");
        }
        if (!b.path("tls").asBoolean(true)) {
            req = req.withoutTls(); // measurement only: the task log warns
        }
        if (req.policy() != null && !Policies.NAMES.contains(req.policy())) {
            throw new BadRequest(Policies.unknown(req.policy()));
        }
        return req;
    }

    /** The optional {@code tuning} object; unknown fields and impossible values are refused. */
    private static Tuning tuning(JsonNode t) {
        if (t.isMissingNode() || t.isNull()) {
            return null;
        }
        Tuning tuning = value(t, Tuning.class, "'tuning'");
        List<String> problems = tuning.problems();
        if (!problems.isEmpty()) {
            throw new BadRequest("invalid 'tuning': " + String.join("; ", problems));
        }
        return tuning;
    }

    /** An optional whole number above zero; anything else is refused before anything starts. */
    private static Integer positive(JsonNode b, String field) {
        if (!b.hasNonNull(field)) {
            return null;
        }
        JsonNode v = b.path(field);
        if (!v.canConvertToInt() || v.asInt() <= 0) {
            throw new BadRequest("'" + field + "' must be a whole number above zero, got " + v);
        }
        return v.asInt();
    }

    private Task task(Context ctx) {
        String id = ctx.pathParam("id");
        return tasks.get(id).orElseThrow(() -> new NotFound("no task '" + id + "' on node '" + node + "'"));
    }

    ObjectNode taskJson(Task t) {
        ObjectNode o = JSON.createObjectNode().put("id", t.id()).put("node", node).put("vmid", t.vmid())
                .put("target", t.target()).put("status", t.status());
        if (t.log().progress() != null) {
            o.set("progress", JSON.valueToTree(t.log().progress()));
        }
        MigrationResult r = t.result().isDone() && !t.result().isCompletedExceptionally() ? t.result().join() : null;
        if (r != null) {
            o.set("result", JSON.valueToTree(r));
        }
        return o;
    }

    /** Lines from {@code from}; waits up to {@code wait} ms for new ones, so followers need not spin. */
    private void taskLog(Context ctx, TaskLog log, java.util.concurrent.Future<?> result,
                         java.util.function.Supplier<String> status) throws InterruptedException {
        int from = ctx.queryParam("from") == null ? 0 : Integer.parseInt(ctx.queryParam("from"));
        long wait = ctx.queryParam("wait") == null ? 0 : Math.min(10_000, Long.parseLong(ctx.queryParam("wait")));
        if (from < 0 || wait < 0) {
            throw new BadRequest("'from' and 'wait' must be 0 or more");
        }
        long deadline = System.currentTimeMillis() + wait;
        List<String> lines = log.since(from);
        while (lines.isEmpty() && !result.isDone() && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
            lines = log.since(from);
        }
        ObjectNode o = JSON.createObjectNode().put("next", from + lines.size()).put("done", result.isDone()
                && log.since(from + lines.size()).isEmpty()).put("status", status.get());
        o.set("lines", JSON.valueToTree(lines));
        ctx.json(o);
    }
}
