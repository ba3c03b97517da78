package ferry.agent;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.agent.web.BrowserGate;
import ferry.cluster.ClusterStore;
import ferry.cluster.VmRecord;
import ferry.cluster.pki.Identity;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who may call what, decided by the client's certificate (the TLS handshake has already checked it
 * is of the cluster's CA and valid). The admin may call everything. A node may call only what a
 * peer agent needs during a migration or its recovery — and what touches one VM only while that
 * VM is locked by a migration the node takes part in (it owns the VM, or its task holds the lock):
 * so no node can start, stop or migrate a VM through its peer.
 */
final class PeerAccess {
    /** How a node's call of an endpoint is judged. */
    private enum Rule {
        /** read-only or VM-independent: a migration's prepare, its plan, a lock holder's question */
        ANY,
        /** acts on one VM (its id in the path, the volume's name, or the body): only during its migration */
        VM,
        /** a listing a node may read only in its cheap, in-memory form: {@code ?status=running} */
        RUNNING_ONLY
    }

    /**
     * Every endpoint a peer agent calls, found by reading AgentClient's TargetNode methods (used by
     * Migration, Recovery, PeerRecovery and the plan's probe sink), LockHolders and an evacuation
     * run by its node's agent (which reads the running migrations of every agent, to count its
     * slots, and each target's memory: it starts, cancels and changes nothing on a peer).
     */
    private static final Map<String, Rule> NODE_MAY = Map.ofEntries(
            Map.entry("GET /api/v1/node", Rule.ANY),                              // probe
            Map.entry("GET /api/v1/storage", Rule.ANY),                           // storages
            Map.entry("GET /api/v1/qemu", Rule.ANY),                              // qemuOffer
            Map.entry("POST /api/v1/probe-sink", Rule.ANY),                       // plan's link probe
            Map.entry("GET /api/v1/tasks/{id}", Rule.ANY),                        // LockHolders: does the task run?
            Map.entry("GET /api/v1/tasks", Rule.RUNNING_ONLY),                    // evacuation's slots
            Map.entry("GET /api/v1/incoming/{vmid}", Rule.ANY),                   // state
            Map.entry("POST /api/v1/incoming", Rule.VM),                          // startIncoming
            Map.entry("POST /api/v1/incoming/{vmid}/recover", Rule.VM),           // postcopy recovery
            Map.entry("POST /api/v1/incoming/{vmid}/resume", Rule.VM),            // hand-over
            Map.entry("POST /api/v1/incoming/{vmid}/stop", Rule.VM),              // cleanup
            Map.entry("POST /api/v1/incoming/{vmid}/exports", Rule.VM),           // disk mirror's NBD exports
            Map.entry("PUT /api/v1/storage/{storage}/volumes/{volume}", Rule.VM),    // offline copy
            Map.entry("POST /api/v1/storage/{storage}/volumes/{volume}", Rule.VM),   // mirror's empty volume
            Map.entry("DELETE /api/v1/storage/{storage}/volumes/{volume}", Rule.VM)); // cleanup

    /** The attribute the servlet container puts the client's certificate chain in. */
    static final String PEER_CERTIFICATES = "jakarta.servlet.request.X509Certificate";
    private static final Pattern VOLUME_OF_VM = Pattern.compile("vm-(\\d+)-.*");

    /** A call the certificate does not allow (403). */
    static final class Forbidden extends RuntimeException {
        Forbidden(String m) {
            super(m);
        }
    }

    private final String node;
    private final ClusterStore store;
    private final Function<Context, JsonNode> body;
    /** This node takes plain-TCP streams from its peers (its agent was started to measure TLS's cost). */
    private final boolean plainStreams;

    PeerAccess(String node, ClusterStore store, Function<Context, JsonNode> body, boolean plainStreams) {
        this.node = node;
        this.store = store;
        this.body = body;
        this.plainStreams = plainStreams;
    }

    /** Runs before every matched endpoint; throws {@link Forbidden} to refuse. */
    void check(Context ctx) {
        if (BrowserGate.admitted(ctx)) {
            return; // no certificate, but a UI asset, a scrape with the metrics token, or a logged-in browser
        }
        Identity who = identity(ctx).orElseThrow(() -> new Forbidden("node '" + node + "' serves only clients with a "
                + "certificate of this cluster that names an identity (admin or node); this one names none"));
        if (who.role() == Identity.Role.ADMIN) {
            return;
        }
        String call = ctx.method().name() + " " + ctx.endpointHandlerPath();
        if (store.config().node(who.name()).isEmpty()) {
            throw new Forbidden(describe(who) + " is not a member of this cluster; node '" + node + "' refuses " + call);
        }
        Rule rule = NODE_MAY.get(call);
        if (rule == null) {
            throw new Forbidden("node '" + node + "' refuses " + call + " to " + describe(who) + ": a node's "
                    + "certificate may call only the target side of a migration; this needs the admin's certificate "
                    + "(the ferry CLI)");
        }
        if (rule == Rule.RUNNING_ONLY && !"running".equals(ctx.queryParam("status"))) {
            throw new Forbidden("node '" + node + "' refuses " + call + " to " + describe(who) + " without "
                    + "?status=running: a node may read only its peers' running tasks (the whole history takes the "
                    + "admin's certificate)");
        }
        if (rule == Rule.VM) {
            int vmid = vmOf(ctx, call);
            requireMigrationOf(who, vmid, call);
            if (ctx.method() == HandlerType.POST && ctx.endpointHandlerPath().equals("/api/v1/incoming")) {
                // set by the source for QEMU's tls-authz: a node may only start a stream that it sends itself
                JsonNode source = body.apply(ctx).path("source");
                if (!source.isMissingNode() && !source.isNull() && !source.asText().equals(who.name())) {
                    throw new Forbidden("node '" + node + "' refuses an incoming migration of VM " + vmid + " from '"
                            + source.asText() + "' asked by " + describe(who) + ": a node may only start incoming "
                            + "migrations whose source it is");
                }
                // a peer cannot talk this node down to plain TCP: that takes the admin, on this node
                if (!body.apply(ctx).path("tls").asBoolean(false) && !plainStreams) {
                    throw new Forbidden("node '" + node + "' takes migration streams from its peers over TLS only; "
                            + describe(who) + " asked for a plain one (--no-tls). To measure TLS's cost, start "
                            + "node '" + node + "''s agent with --allow-plain-streams");
                }
            }
        }
    }

    private void requireMigrationOf(Identity who, int vmid, String call) {
        Optional<VmRecord> r = store.vm(vmid);
        boolean takesPart = r.isPresent() && r.get().locked() && (r.get().owner().equals(who.name())
                || r.get().lockHolder() != null && r.get().lockHolder().node().equals(who.name()));
        if (!takesPart) {
            throw new Forbidden("node '" + node + "' refuses " + call + " for VM " + vmid + " to " + describe(who)
                    + ": a node may act on a VM through its peer only during a migration of that VM it takes part "
                    + "in (" + r.map(v -> v.locked() ? "VM " + vmid + " is owned by '" + v.owner() + "', lock held by "
                            + (v.lockHolder() == null ? "?" : "'" + v.lockHolder().node() + "'")
                            : "VM " + vmid + " is not being migrated").orElse("VM " + vmid + " does not exist") + ")");
        }
    }

    private int vmOf(Context ctx, String call) {
        if (ctx.pathParamMap().containsKey("vmid")) {
            return number(ctx.pathParam("vmid"), call);
        }
        if (ctx.pathParamMap().containsKey("volume")) {
            Matcher m = VOLUME_OF_VM.matcher(ctx.pathParam("volume"));
            if (!m.matches()) {
                throw new Forbidden("node '" + node + "' refuses " + call + " of volume '" + ctx.pathParam("volume")
                        + "': a node may touch only volumes named after a VM (vm-ID-…)");
            }
            return number(m.group(1), call);
        }
        return number(body.apply(ctx).path("vm").path("vmid").asText(), call);
    }

    private int number(String s, String call) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new Routes.BadRequest(call + ": no VM id in the request");
        }
    }

    static Optional<Identity> identity(Context ctx) {
        if (ctx.req().getAttribute(PEER_CERTIFICATES) instanceof X509Certificate[] chain && chain.length > 0) {
            return Identity.of(chain[0]);
        }
        return Optional.empty();
    }

    /** e.g. "the certificate of node 'b' (CN=b, ferry:node:b)". */
    static String describe(Identity who) {
        return "the certificate of " + who + " (" + who.distinguishedName() + ")";
    }
}
