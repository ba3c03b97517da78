package ferry.testkit.netns;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.qapi.QapiJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * Hosts as Linux network namespaces: each host has its own namespace with one interface,
 * {@code eth0} at 10.77.0.x/24, the end of a veth pair whose other end sits on bridge {@code br0}
 * in a switch namespace. Besides the hosts asked for there is always {@value #CTL}, the admin's
 * machine (where the CLI runs). Every link can be rate-shaped ({@code tc tbf}, both directions)
 * and cut ({@code ip link set down} on the switch side). Nothing is created in the root
 * namespace: the root namespace cannot reach the hosts, so whatever talks to them runs inside one
 * ({@link #command}).
 *
 * <p>Namespace names start with "fy", the creating process's pid and a sequence number
 * ({@code fy1234-0-a}); {@link #create} first removes those of creators that died, and a
 * shutdown hook removes a network its creator did not close. Needs root; see
 * {@link #unavailableReason()}.
 */
public final class HostNetwork implements AutoCloseable {
    /** The admin's host, added to every network. */
    public static final String CTL = "ctl";
    /** What {@link #netemUnavailableReason()} says on a kernel built without netem. */
    public static final String NO_NETEM = "this kernel has no netem: delay and loss are unavailable";

    private static final String SUBNET = "10.77.0.";
    private static final String SWITCH = "sw";
    private static final String BRIDGE = "br0";
    private static final String HOST_IF = "eth0";
    /** Host names become part of interface names, which Linux caps at 15 characters ("to-" + 12). */
    private static final Pattern HOST_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,11}");
    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private final String prefix;
    private final List<String> hosts;
    private final boolean owner;
    private final Map<String, Long> rates = new ConcurrentHashMap<>();
    private volatile Thread shutdownHook;
    private volatile boolean closed;
    private volatile String netemReason;

    private HostNetwork(String prefix, List<String> hosts, boolean owner) {
        this.prefix = prefix;
        this.hosts = hosts;
        this.owner = owner;
    }

    /** Why hosts as namespaces cannot be built here (not root, no {@code ip}/{@code tc}, netns refused); null when they can. */
    public static String unavailableReason() {
        try {
            int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            if (uid != 0) {
                return "not root: network namespaces need root (run as root, e.g. sudo)";
            }
        } catch (IOException | UnsupportedOperationException e) {
            return "cannot tell whether this process is root (" + e.getMessage() + "): network namespaces need Linux";
        }
        for (String tool : List.of("ip", "tc")) {
            try {
                if (!Tool.attempt(List.of(tool, "-V")).ok()) {
                    return "`" + tool + " -V` failed: install iproute2";
                }
            } catch (HostNetworkException e) {
                return e.getMessage();
            }
        }
        String probe = Namespaces.ownPrefix() + "probe";
        Tool.Result r = Tool.attempt(List.of("ip", "netns", "add", probe));
        if (!r.ok()) {
            return "`ip netns add` failed: " + r.err().strip();
        }
        Tool.attempt(List.of("ip", "netns", "del", probe));
        return null;
    }

    /**
     * Builds the hosts (plus {@value #CTL}) joined by a bridge, unshaped. Names: lower-case
     * letters, digits, '-', at most 12 characters. Throws {@link HostNetworkException} naming the
     * command that failed (nothing is left behind then).
     */
    public static HostNetwork create(List<String> hostNames) {
        List<String> all = withCtl(hostNames);
        Namespaces.removeStale();
        HostNetwork net = new HostNetwork(Namespaces.ownPrefix() + SEQUENCE.getAndIncrement() + "-", all, true);
        // a creator stopped by Ctrl-C or a failing test still removes its namespaces and their processes
        net.shutdownHook = new Thread(net::close, "host-network-teardown");
        Runtime.getRuntime().addShutdownHook(net.shutdownHook);
        try {
            net.build();
        } catch (RuntimeException e) {
            try {
                net.close();
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return net;
    }

    /**
     * The network another process created with {@link #create} (e.g. a child launched inside its
     * {@value #CTL} host), given its {@link #prefix()} and the same host names. Closing it does
     * nothing: only the creator tears a network down.
     */
    public static HostNetwork attach(String prefix, List<String> hostNames) {
        HostNetwork net = new HostNetwork(prefix, withCtl(hostNames), false);
        List<String> existing = Namespaces.list();
        for (String ns : net.namespaces()) {
            if (!existing.contains(ns)) {
                throw new HostNetworkException("network namespace " + ns + " does not exist: the network with prefix "
                        + prefix + " was torn down or never built (ip netns list shows " + existing + ")");
            }
        }
        return net;
    }

    private static List<String> withCtl(List<String> hostNames) {
        List<String> all = new ArrayList<>();
        for (String h : hostNames) {
            if (!HOST_NAME.matcher(h).matches() || h.equals(CTL) || h.equals(SWITCH) || all.contains(h)) {
                throw new IllegalArgumentException("host name '" + h + "' is unusable: use 1-12 lower-case letters, digits "
                        + "or '-', not '" + CTL + "' or '" + SWITCH + "' (reserved), each name once");
            }
            all.add(h);
        }
        all.add(CTL);
        return List.copyOf(all);
    }

    private void build() {
        String sw = switchNamespace();
        Namespaces.add(sw);
        ip("switch", sw, "link", "add", BRIDGE, "type", "bridge");
        ip("switch", sw, "link", "set", BRIDGE, "up");
        for (String host : hosts) {
            String ns = namespace(host);
            Namespaces.add(ns);
            // both ends are born inside namespaces: no link ever appears in the root namespace
            ip(host, ns, "link", "add", HOST_IF, "type", "veth", "peer", "name", switchPort(host), "netns", sw);
            ip(host, sw, "link", "set", switchPort(host), "master", BRIDGE);
            ip(host, sw, "link", "set", switchPort(host), "up");
            ip(host, ns, "addr", "add", address(host) + "/24", "dev", HOST_IF);
            ip(host, ns, "link", "set", HOST_IF, "up");
            ip(host, ns, "link", "set", "lo", "up");
        }
    }

    /** This network's namespace-name prefix, e.g. {@code fy1234-0-}. */
    public String prefix() {
        return prefix;
    }

    /** The hosts, {@value #CTL} last. */
    public List<String> hosts() {
        return hosts;
    }

    /** The network namespace of {@code host}. */
    public String namespace(String host) {
        return prefix + known(host);
    }

    /** The IPv4 address of {@code host} on the bridge (10.77.0.1 for the first host, …). */
    public String address(String host) {
        return SUBNET + (hosts.indexOf(known(host)) + 1);
    }

    /** {@code cmd} as run inside {@code host}: {@code ip netns exec} execs it in place, so its pid is the command's. */
    public List<String> command(String host, List<String> cmd) {
        List<String> out = new ArrayList<>(List.of("ip", "netns", "exec", namespace(host)));
        out.addAll(cmd);
        return out;
    }

    /**
     * Caps {@code host}'s link at {@code bitsPerSecond} in both directions: a token bucket on the
     * egress of the host's {@code eth0} (what it sends) and of its switch port (what it receives).
     */
    public void shapeRate(String host, long bitsPerSecond) {
        if (bitsPerSecond <= 0) {
            throw new IllegalArgumentException("a link rate must be positive, got " + bitsPerSecond);
        }
        // 10 ms worth of tokens, at least a few full frames: enough to reach the rate, too little to skew a measurement
        long burstBytes = Math.max(bitsPerSecond / 8 / 100, 16 * 1024);
        for (String[] dev : devices(host)) {
            tc(host, dev[0], "qdisc", "replace", "dev", dev[1], "root", "handle", "1:", "tbf", "rate", bitsPerSecond + "bit",
                    "burst", Long.toString(burstBytes), "latency", "100ms");
        }
        rates.put(host, bitsPerSecond);
    }

    /** The rate {@link #shapeRate} set on {@code host}'s link, or null when it is unshaped. */
    public Long rate(String host) {
        return rates.get(known(host));
    }

    /** Why delay and loss cannot be shaped here ({@link #NO_NETEM}), or null when netem works. */
    public String netemUnavailableReason() {
        if (netemReason == null) {
            String sw = switchNamespace();
            Tool.Result r = Tool.attempt(List.of("tc", "-n", sw, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"));
            if (r.ok()) {
                Tool.attempt(List.of("tc", "-n", sw, "qdisc", "del", "dev", "lo", "root"));
                netemReason = "";
            } else {
                netemReason = r.err().toLowerCase(Locale.ROOT).contains("unknown") ? NO_NETEM
                        : "netem cannot be used: `tc qdisc add … netem` failed: " + r.err().strip();
            }
        }
        return netemReason.isEmpty() ? null : netemReason;
    }

    /**
     * Adds {@code delay} and {@code lossPercent} to {@code host}'s link in both directions (netem,
     * below the rate shaper when {@link #shapeRate} ran first). Refused with the reason when the
     * kernel has no netem: never faked.
     */
    public void delayLoss(String host, Duration delay, double lossPercent) {
        String reason = netemUnavailableReason();
        if (reason != null) {
            throw new HostNetworkException("cannot add " + delay.toMillis() + " ms delay and " + lossPercent
                    + "% loss to the link of host '" + known(host) + "': " + reason);
        }
        for (String[] dev : devices(host)) {
            List<String> where = rates.containsKey(host) ? List.of("parent", "1:1", "handle", "10:") : List.of("root", "handle", "1:");
            List<String> cmd = new ArrayList<>(List.of("qdisc", "replace", "dev", dev[1]));
            cmd.addAll(where);
            cmd.addAll(List.of("netem", "delay", delay.toMillis() + "ms", "loss", lossPercent + "%"));
            tc(host, dev[0], cmd.toArray(String[]::new));
        }
    }

    /** Cuts {@code host} off the bridge (its switch port goes down): packets to and from it are dropped. */
    public void cut(String host) {
        ip(host, switchNamespace(), "link", "set", switchPort(known(host)), "down");
    }

    /** Undoes {@link #cut}. */
    public void restore(String host) {
        ip(host, switchNamespace(), "link", "set", switchPort(known(host)), "up");
    }

    /** Bytes {@code host}'s {@code eth0} has sent and received so far. */
    public LinkCounters bytes(String host) {
        String json = Tool.run("reading the counters of host '" + known(host) + "'",
                List.of("ip", "-n", namespace(host), "-s", "-j", "link", "show", "dev", HOST_IF));
        try {
            JsonNode stats = QapiJson.mapper().readTree(json).path(0).path("stats64");
            if (!stats.path("tx").path("bytes").isIntegralNumber()) {
                throw new HostNetworkException("no byte counters for " + HOST_IF + " of host '" + host + "' in: " + json);
            }
            return new LinkCounters(stats.path("tx").path("bytes").asLong(), stats.path("rx").path("bytes").asLong());
        } catch (IOException e) {
            throw new HostNetworkException("cannot read `ip -s -j link` output for host '" + host + "': " + json, e);
        }
    }

    /**
     * Kills every process still inside the namespaces (agents, QEMUs, children) and deletes them.
     * Does nothing for an attached network or a second time.
     */
    @Override
    public synchronized void close() {
        if (!owner || closed) {
            return;
        }
        closed = true;
        List<String> failures = new ArrayList<>();
        for (String ns : namespaces()) {
            try {
                Namespaces.remove(ns);
            } catch (RuntimeException e) {
                failures.add(e.getMessage());
            }
        }
        Thread hook = shutdownHook;
        if (hook != null && Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to: it finds the network closed
            }
        }
        if (!failures.isEmpty()) {
            throw new HostNetworkException("could not remove every namespace of " + prefix + "*: "
                    + String.join("; ", failures) + " (remove them with `ip netns del NAME`)");
        }
    }

    private List<String> namespaces() {
        List<String> out = new ArrayList<>();
        hosts.forEach(h -> out.add(namespace(h)));
        out.add(switchNamespace());
        return out;
    }

    private String switchNamespace() {
        return prefix + SWITCH;
    }

    private static String switchPort(String host) {
        return "to-" + host;
    }

    /** The two egress points of a host's link: {namespace, device}. */
    private String[][] devices(String host) {
        return new String[][] {{namespace(host), HOST_IF}, {switchNamespace(), switchPort(known(host))}};
    }

    private String known(String host) {
        if (!hosts.contains(host)) {
            throw new IllegalArgumentException("no host '" + host + "' in network " + prefix + "*; its hosts are " + hosts);
        }
        return host;
    }

    private static void ip(String host, String ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "-n", ns));
        cmd.addAll(List.of(args));
        Tool.run("host '" + host + "' (namespace " + ns + ")", cmd);
    }

    private static void tc(String host, String ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("tc", "-n", ns));
        cmd.addAll(List.of(args));
        Tool.run("link of host '" + host + "' (namespace " + ns + ")", cmd);
    }
}
