package ferry.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import ferry.agent.metrics.MigrationMetrics;
import ferry.agent.web.BrowserGate;
import ferry.agent.web.ProgressHistory;
import ferry.agent.web.WebUi;
import ferry.cluster.ClusterStore;
import ferry.cluster.pki.AccessTokens;
import ferry.cluster.NodeInfo;
import ferry.cluster.NodeLease;
import ferry.migration.LocalTarget;
import ferry.migration.Migration;
import ferry.migration.NodeTls;
import ferry.node.LocalNode;
import ferry.node.QemuBinary;
import ferry.node.Volumes;
import io.javalin.Javalin;
import io.javalin.json.JavalinJackson;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-node daemon: serves the node's VMs, the target side of migrations, and migration
 * tasks over HTTPS/JSON on the node's agent address. Clients must present a certificate of the
 * cluster's CA (mutual TLS); what they may call depends on whose it is (see {@link PeerAccess}).
 * The node's own certificate serves the port and is the one it calls its peers with; a renewed
 * certificate ({@code ferry cluster rotate-certs}) is taken within seconds (see {@link NodeCertificate}).
 */
public final class Agent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);
    static final ObjectMapper JSON = ApiJson.MAPPER;

    private final String node;
    private final ClusterStore store;
    private final LocalNode local;
    private final Tasks tasks;
    private final Javalin http;
    private final Routes routes;
    private final Recoverer recoverer;
    private final NodeCertificate certificate;
    private final MigrationMetrics metrics;
    /** "METHOD /path" of every endpoint registered, as Javalin reports them (for the OpenAPI check). */
    private final List<String> endpoints = new CopyOnWriteArrayList<>();
    private NodeLease lease;

    private Agent(Path clusterDir, NodeInfo me, NodeCertificate certificate, ClusterStore store, LocalNode local, Migration migration,
                  LocalTarget target, Tasks tasks, Function<String, AgentClient> agents) {
        String node = me.name();
        this.node = node;
        this.store = store;
        this.local = local;
        this.tasks = tasks;
        this.certificate = certificate;
        this.recoverer = new Recoverer(node, store, migration, tasks);
        this.http = Javalin.create(cfg -> {
            cfg.showJavalinBanner = false;
            cfg.jsonMapper(new JavalinJackson(JSON, false));
            cfg.http.prefer405over404 = true; // a wrong method is told so, with the methods the path takes
            cfg.events.handlerAdded(h -> {
                if (h.getHttpMethod().isHttpMethod()) {
                    endpoints.add(h.getHttpMethod().name() + " " + h.getPath());
                }
            });
            // the only port: HTTPS that asks for a client certificate (a browser has none: see BrowserGate)
            cfg.jetty.addConnector((server, http) -> certificate.connector(server, http, me.agentHost(), me.agentPort()));
        });
        this.metrics = new MigrationMetrics(node);
        BrowserGate gate = new BrowserGate(node, AccessTokens.in(clusterDir));
        // before PeerAccess: a client without a certificate gets in only with one of the cluster's secrets
        http.beforeMatched(gate::check);
        http.exception(BrowserGate.Refused.class, (e, ctx) -> ctx.status(e.status()).json(Routes.error(e.getMessage())));
        this.routes = new Routes(node, store, local, migration, target, tasks, new LockHolders(node, store, tasks, agents), agents);
        routes.install(http);
        ProgressHistory history = new ProgressHistory();
        tasks.watch(t -> {
            metrics.follow(t.vmid(), t.target(), t.policy(), t.log(), t.result());
            history.follow(t.id(), t.log());
        });
        nodeGauges();
        ClusterOverview overview = new ClusterOverview(node, store, agents);
        http.get("/api/v1/cluster", ctx -> ctx.json(overview.json()));
        new WebUi(gate, metrics, history, id -> tasks.get(id).map(t -> new WebUi.LiveTask(t.id(), t.log(), t.result(),
                () -> JSON.valueToTree(routes.taskJson(t)))), JSON).install(http);
    }

    /** The VMs this node owns, by state (read at each scrape), and the migrations it runs now. */
    private void nodeGauges() {
        for (LocalNode.State s : LocalNode.State.values()) {
            String state = s.name().toLowerCase(java.util.Locale.ROOT);
            metrics.nodeGauge("ferry.node.vms", "VMs this node owns, by their state here",
                    io.micrometer.core.instrument.Tags.of("state", state),
                    () -> store.vmsOf(node).stream().filter(v -> local.status(v.vmid()).state() == s).count());
        }
    }

    /**
     * System property: when "true" at start, this agent takes plain-TCP migration streams from its
     * peers ({@code --no-tls}, to measure what TLS costs); otherwise a peer's plain request gets 403.
     */
    public static final String ALLOW_PLAIN_STREAMS = "ferry.allowPlainStreams";

    /** How long a node counts as alive after its agent last renewed its claim, unless told otherwise. */
    public static final Duration DEFAULT_LEASE_TTL = Duration.ofSeconds(10);

    /** Starts the agent of {@code node} of the cluster in {@code clusterDir}, listening on its agent address. */
    public static Agent start(Path clusterDir, String node) {
        return start(clusterDir, node, DEFAULT_LEASE_TTL);
    }

    /**
     * Starts the agent; it claims its node alive in the cluster store for {@code leaseTtl} at a time
     * (peers act for its migrations once the claim lapses).
     */
    public static Agent start(Path clusterDir, String node, Duration leaseTtl) {
        return start(clusterDir, node, leaseTtl, 0);
    }

    /**
     * Starts the agent, holding {@code memoryReserveBytes} of the host's memory back from incoming
     * VMs: a migration here is refused when the VM would not fit in what is left.
     */
    public static Agent start(Path clusterDir, String node, Duration leaseTtl, long memoryReserveBytes) {
        ClusterLayout layout = new ClusterLayout(clusterDir);
        ClusterStore store = layout.openAsNode(node); // etcds://: with the node's own certificate
        NodeInfo me = store.config().node(node).orElseThrow(() -> new IllegalArgumentException(
                "node '" + node + "' is not in cluster " + clusterDir + "; its nodes are "
                        + String.join(", ", store.config().nodeNames())));
        QemuBinary qemu = NodeQemus.of(me);
        Volumes volumes = new Volumes(qemu.qemuImg());
        LocalNode local = new LocalNode(node, qemu, layout.storages(node), layout.runRoot(node));
        // read before anything starts: a missing or expired certificate stops the agent with the reason
        NodeCertificate certificate;
        try {
            certificate = NodeCertificate.load(clusterDir, node);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        Function<String, AgentClient> agents = other ->
                new AgentClient(store.config().node(other).orElseThrow().agentAddress(), certificate.current());
        // the node's certificate for its QEMUs' streams, read again for each migration (rotate-certs renews it)
        Supplier<NodeTls> tls = () -> NodeTls.of(clusterDir, node).orElse(null);
        Migration migration = new Migration(store, local, volumes, agents::apply).tls(tls);
        LocalTarget targetSide = new LocalTarget(local, volumes, me.migrationAddress(), tls)
                .memoryReserve(memoryReserveBytes);
        Tasks tasks = new Tasks(layout, node);
        Agent agent = new Agent(clusterDir, me, certificate, store, local, migration, targetSide, tasks, agents);
        agent.http.start();
        certificate.watch();
        agent.lease = store.announce(node, leaseTtl);
        agent.routes.lease(agent.lease, leaseTtl);
        log.info("node '{}' runs its VMs with QEMU {} ({})", node, qemu.version(), qemu.path());
        log.info("agent of node '{}' listens on https://{} (client certificates of the cluster's CA only; its own "
                + "valid until {}); cluster store: {}", node, me.agentAddress(), certificate.current().notAfter(),
                store.location());
        // after the API is up: a recovery may need this node's own target side (a migration to itself never runs)
        agent.recoverer.start();
        return agent;
    }

    /** Every endpoint this agent serves, as "METHOD /path" with Javalin's {param} placeholders. */
    List<String> endpoints() {
        return List.copyOf(endpoints);
    }

    /** The port actually bound (useful when the address asked for port 0). */
    public int port() {
        return http.port();
    }

    /** Stops serving once running migrations have ended (a stop waits for their safe point); VMs keep running. */
    @Override
    public void close() {
        recoverer.close();
        certificate.close();
        routes.evacuations().stopAll(); // no new migration starts while the running ones are waited for
        tasks.awaitQuiet(Duration.ofMinutes(10));
        http.stop();
        if (lease != null) {
            lease.close(); // peers see this node down from now on, and may act for what it left open
        }
        local.disconnectAll();
        store.close();
        log.info("agent of node '{}' stopped", node);
    }
}
