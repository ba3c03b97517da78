package ferry.cli.drill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.AgentClient;
import ferry.agent.ClusterLayout;
import ferry.cli.AgentProcess;
import ferry.cli.ClusterEtcd;
import ferry.cluster.ClusterStore;
import ferry.cluster.StoreAddress;
import ferry.testkit.etcd.EtcdServer;
import ferry.testkit.netns.HostNetwork;
import ferry.node.LocalNode;
import ferry.node.QemuBinary;
import ferry.node.VmDefinition;
import ferry.testkit.Bootblock;
import ferry.testkit.BootblockGuest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The drill's throwaway two-node cluster in a temporary folder: agents as real processes (so
 * they can be killed), bootblock VMs on the shared storage, and the run directories where the
 * VMs' QEMUs are found.
 */
final class DrillCluster implements AutoCloseable {
    static final String A = "a";
    static final String B = "b";
    static final List<String> NODES = List.of(A, B);
    static final ObjectMapper JSON = ferry.agent.ApiJson.MAPPER;
    /** Agents start quicker and weigh less this way; the drill runs on small hosts too. */
    private static final List<String> LEAN_JVM = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx192m",
            "-Dferry.leaseTtl=" + DrillCluster.LEASE_TTL_S);
    /** Short, so that a peer acts for a downed node within seconds. */
    static final int LEASE_TTL_S = 3;
    private static final Duration AGENT_READY = Duration.ofSeconds(60);
    /** Longer than a hand-over's confirmation; a stopping agent lets migrations reach their safe point. */
    private static final Duration AGENT_STOP = Duration.ofSeconds(120);

    private final Path root;
    private final ClusterLayout layout;
    private final Map<String, AgentProcess> agents = new LinkedHashMap<>();
    private final Map<String, AgentClient> clients = new LinkedHashMap<>();
    private final QemuBinary qemu = QemuBinary.find();

    private final boolean keep;
    private final EtcdServer etcd;
    private final ClusterStore etcdStore;
    private final HostNetwork net;

    private DrillCluster(Path root, ClusterLayout layout, boolean keep, EtcdServer etcd, HostNetwork net) {
        this.root = root;
        this.keep = keep;
        this.layout = layout;
        this.etcd = etcd;
        this.net = net;
        this.etcdStore = etcd == null ? null : layout.open();
        for (String n : NODES) {
            clients.put(n, AgentProcess.client(layout, n));
        }
    }

    /**
     * A new cluster, its records in a real etcd of its own ({@code onEtcd}) or in the folder; on
     * loopback in a temporary folder, or ({@code net} given) each node on its host in {@code
     * workDir}, etcd on the ctl host where this process runs; {@code keep}: leave the folder.
     */
    static DrillCluster create(boolean keep, boolean onEtcd, HostNetwork net, Path workDir)
            throws IOException, InterruptedException {
        Path root = workDir != null ? workDir : Files.createTempDirectory("ferry-drill");
        // etcd over mutual TLS, as an operator runs it for an etcds:// store: the cluster's CA comes first
        EtcdServer etcd = !onEtcd ? null : net == null
                ? ClusterEtcd.onLoopback(root.resolve("cluster"), "drill", root.resolve("etcd"))
                : ClusterEtcd.on(root.resolve("cluster"), "drill", root.resolve("etcd"), net.address(HostNetwork.CTL),
                        2379, 2380);
        try {
            StoreAddress store = etcd == null ? StoreAddress.DIRECTORY : StoreAddress.parse(etcd.storeAddress());
            ClusterLayout layout;
            if (net == null) {
                layout = ClusterLayout.createOnFreePorts(root.resolve("cluster"), "drill", NODES, store);
            } else {
                Map<String, String> addresses = new LinkedHashMap<>();
                NODES.forEach(n -> addresses.put(n, net.address(n)));
                layout = ClusterLayout.create(root.resolve("cluster"), "drill", ClusterLayout.hostNodes(addresses, 8640),
                        store);
            }
            return new DrillCluster(root, layout, keep, etcd, net);
        } catch (RuntimeException e) {
            if (etcd != null) {
                etcd.close();
            }
            throw e;
        }
    }

    /** The hosts, when each node runs in its own network namespace; null on loopback. */
    HostNetwork net() {
        return net;
    }

    /** The cluster's own etcd; null when the records live in the folder. */
    EtcdServer etcd() {
        return etcd;
    }

    /** "etcd" or "directory". */
    String storeKind() {
        return etcd == null ? "directory" : "etcd";
    }

    ClusterLayout layout() {
        return layout;
    }

    AgentClient agent(String node) {
        return clients.get(node);
    }

    static String other(String node) {
        return node.equals(A) ? B : A;
    }

    // ---- agents ------------------------------------------------------------------------------

    void startAgent(String node) throws IOException, InterruptedException {
        AgentProcess p = agents.get(node);
        if (p == null || !p.isAlive()) {
            agents.put(node, net == null ? AgentProcess.start(layout, node, LEAN_JVM, AGENT_READY)
                    : AgentProcess.start(layout, node, net.command(node, List.of()), LEAN_JVM, AGENT_READY));
        }
    }

    void startAgents() throws IOException, InterruptedException {
        for (String n : NODES) {
            startAgent(n);
        }
    }

    /** kill -9 of the agent of {@code node}; {@code atSignal} runs as soon as the signal is sent. */
    void killAgent(String node, Runnable atSignal) throws InterruptedException {
        AgentProcess p = agents.remove(node);
        if (p != null) {
            p.kill(atSignal);
        } else {
            atSignal.run();
        }
    }

    /** SIGTERM, waiting for the agent's own safe stop; false if it did not end in time (it is then killed). */
    boolean stopAgent(String node) throws InterruptedException {
        AgentProcess p = agents.remove(node);
        if (p == null) {
            return true;
        }
        if (p.stop(AGENT_STOP)) {
            return true;
        }
        p.kill();
        return false;
    }

    boolean agentRunning(String node) {
        AgentProcess p = agents.get(node);
        return p != null && p.isAlive();
    }

    // ---- VMs ---------------------------------------------------------------------------------

    /** Creates a bootblock VM owned by {@code node} on the shared storage, starts it and waits for its first pass. */
    void bootVm(int vmid, String node, BootblockGuest guest) throws IOException, InterruptedException {
        String volume = "vm-" + vmid + "-disk-0.raw";
        Path shared = layout.storages(node).get("shared").path();
        Files.copy(Bootblock.image(BootblockGuest.cacheDir(), guest.regionEnd(), guest.delay()), shared.resolve(volume));
        VmDefinition vm = new VmDefinition(vmid, "drill-" + vmid, guest.memoryMiB(), 1, null, null, null,
                List.of(new VmDefinition.Disk("shared", volume, "raw", "ide")), VmDefinition.Accel.TCG, null);
        agent(node).post("/api/v1/vms", vm);
        agent(node).post("/api/v1/vms/" + vmid + "/start", null);
        Path serial = runDir(node, vmid).resolve("serial.log");
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (read(serial).indexOf(Bootblock.PASS_MARKER) < 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("VM " + vmid + " made no pass within 60 s; its console: " + serial);
            }
            Thread.sleep(100);
        }
    }

    /** Starts a live migration task on the source's agent; returns its task id. */
    String migrate(int vmid, String from, String to, MigrationOptions options) {
        ObjectNode req = JSON.createObjectNode().put("vmid", vmid).put("target", to).put("online", true);
        options.addTo(req);
        return agent(from).migrate(req).path("id").asText();
    }

    Path runDir(String node, int vmid) {
        return layout.runRoot(node).resolve(Integer.toString(vmid));
    }

    /** The pid of the VM's QEMU on {@code node}, from its run directory; empty when none runs. */
    Optional<ProcessHandle> qemu(String node, int vmid) {
        Path pidFile = runDir(node, vmid).resolve("qemu.pid");
        try {
            return Files.exists(pidFile) ? ProcessHandle.of(Long.parseLong(Files.readString(pidFile).strip()))
                    .filter(ProcessHandle::isAlive) : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty(); // being written or removed
        }
    }

    /** Every live QEMU process whose command line points into the VM's run directory on {@code node}. */
    List<ProcessHandle> qemuProcesses(String node, int vmid) {
        String dir = runDir(node, vmid) + "/";
        return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive).filter(h -> {
            String cmd = h.info().commandLine().orElse("");
            return cmd.contains("qemu-system") && cmd.contains(dir);
        }).toList();
    }

    /** The VM's QEMU state as the agent of {@code node} reports it; null when the agent does not answer. */
    JsonNode qemuState(String node, int vmid) {
        try {
            return agent(node).get("/api/v1/incoming/" + vmid);
        } catch (AgentClient.AgentException e) {
            return null;
        }
    }

    /** The node's VMs seen directly (only while its agent is stopped: QEMU serves one QMP client). */
    LocalNode localNode(String node) {
        return new LocalNode(node, qemu, layout.storages(node), layout.runRoot(node));
    }

    Journals journals() {
        return new Journals(layout.dir().resolve("journal"), etcdStore);
    }

    static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p, StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() throws InterruptedException {
        for (String n : NODES) {
            stopAgent(n);
        }
        for (String n : NODES) {
            try (var dirs = Files.list(layout.runRoot(n))) {
                dirs.forEach(d -> qemuProcessesUnder(d).forEach(ProcessHandle::destroyForcibly));
            } catch (IOException ignored) {
                // no run directory: nothing ran there
            }
        }
        if (etcdStore != null) {
            etcdStore.close();
        }
        if (etcd != null) {
            etcd.close();
        }
        if (keep) {
            return;
        }
        try (var files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp folder left behind is harmless
        }
    }

    private static List<ProcessHandle> qemuProcessesUnder(Path dir) {
        String d = dir + "/";
        return ProcessHandle.allProcesses().filter(h -> h.info().commandLine().orElse("").contains(d)).toList();
    }
}
