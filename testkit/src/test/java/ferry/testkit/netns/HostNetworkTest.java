package ferry.testkit.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hosts as namespaces for real: TCP between two hosts (child processes inside them), a cut link,
 * a shaped rate, and a clean teardown. Skipped, with the reason, where namespaces are unavailable.
 */
class HostNetworkTest {
    private static final int PORT = 9000;
    private static final Pattern SENT = Pattern.compile("sent (\\d+) in (\\d+) ms");
    private static final long MIB = 1 << 20;

    private HostNetwork net;
    private final List<Process> children = new ArrayList<>();

    @BeforeEach
    void hosts() {
        String reason = HostNetwork.unavailableReason();
        Assumptions.assumeTrue(reason == null, () -> "hosts as network namespaces unavailable: " + reason);
        net = HostNetwork.create(List.of("a", "b"));
    }

    @AfterEach
    void teardown() {
        children.forEach(Process::destroyForcibly);
        if (net != null) {
            net.close();
        }
    }

    @Test
    @Timeout(120)
    void hostsTalkOverTheBridgeAndACutLinkStopsThem() throws Exception {
        assertThat(net.address("a")).isEqualTo("10.77.0.1");
        assertThat(net.address("b")).isEqualTo("10.77.0.2");
        assertThat(net.address(HostNetwork.CTL)).isEqualTo("10.77.0.3");
        sink("b");
        assertThat(send("a", "b", MIB, 10_000)).as("1 MiB from a to b").isNotNull();

        net.cut("b");
        Send cut = sendOnce("a", "b", MIB, 2_000);
        assertThat(cut.ok()).as("a connection to a cut host: " + cut.output()).isFalse();

        net.restore("b");
        assertThat(send("a", "b", MIB, 10_000)).as("1 MiB after restore").isNotNull();
    }

    @Test
    @Timeout(120)
    void aShapedLinkCapsThroughputBothWays() throws Exception {
        long rate = BitRate.parse("40mbit");
        long bytes = 8 * MIB;
        double idealMs = bytes * 8.0 * 1000 / rate;
        net.shapeRate("a", rate);
        assertThat(net.rate("a")).isEqualTo(rate);
        sink("b");
        sink("a");

        LinkCounters before = net.bytes("a");
        long outMs = send("a", "b", bytes, 30_000);
        LinkCounters sent = net.bytes("a").since(before);
        // what a sends leaves through the token bucket on its eth0
        assertThat(outMs).as("8 MiB from a at 40 Mbit/s (ideal %.0f ms)", idealMs).isGreaterThanOrEqualTo((long) (0.8 * idealMs));
        assertThat(sent.txBytes()).as("bytes a's eth0 sent").isGreaterThanOrEqualTo(bytes);

        // what a receives leaves the switch through the token bucket on a's switch port
        long inMs = send("b", "a", bytes, 30_000);
        assertThat(inMs).as("8 MiB to a at 40 Mbit/s (ideal %.0f ms)", idealMs).isGreaterThanOrEqualTo((long) (0.8 * idealMs));
        assertThat(net.bytes("a").since(before).rxBytes()).as("bytes a's eth0 received").isGreaterThanOrEqualTo(bytes);
        System.out.printf("8 MiB at 40 Mbit/s: ideal %.0f ms, out of a %d ms (eth0 sent %d bytes), into a %d ms%n",
                idealMs, outMs, sent.txBytes(), inMs);
    }

    @Test
    void delayAndLossNeedNetem() {
        String reason = net.netemUnavailableReason();
        if (reason != null) {
            assertThat(reason).isEqualTo(HostNetwork.NO_NETEM);
            assertThatThrownBy(() -> net.delayLoss("a", Duration.ofMillis(20), 1.0))
                    .isInstanceOf(HostNetworkException.class).hasMessageContaining("host 'a'").hasMessageEndingWith(reason);
        } else {
            net.delayLoss("a", Duration.ofMillis(20), 1.0);
            assertThat(Tool.run("qdisc", List.of("tc", "-n", net.namespace("a"), "qdisc", "show", "dev", "eth0")))
                    .contains("netem").contains("delay 20ms").contains("loss 1%");
        }
    }

    @Test
    @Timeout(60)
    void closeKillsWhatRunsInsideAndRemovesEveryNamespace() throws Exception {
        Process sleeper = new ProcessBuilder(net.command("a", List.of("sleep", "600"))).start();
        children.add(sleeper);
        String prefix = net.prefix();
        assertThat(Namespaces.list()).contains(prefix + "a", prefix + "b", prefix + "ctl", prefix + "sw");

        net.close();
        assertThat(sleeper.waitFor(10, TimeUnit.SECONDS)).as("the process inside host a was killed").isTrue();
        assertThat(Namespaces.list()).noneMatch(ns -> ns.startsWith(prefix));
    }

    @Test
    void aDeadCreatorsNamespacesAreRemovedOnCreate() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        String stale = "fy" + gone.pid() + "-0-a";
        Namespaces.add(stale);
        try (HostNetwork other = HostNetwork.create(List.of("c"))) {
            assertThat(Namespaces.list()).doesNotContain(stale).contains(other.namespace("c"));
        } finally {
            Tool.attempt(List.of("ip", "netns", "del", stale));
        }
    }

    @Test
    void reservedAndOverlongHostNamesAreRefused() {
        assertThatThrownBy(() -> HostNetwork.create(List.of("ctl"))).hasMessageContaining("'ctl'");
        assertThatThrownBy(() -> HostNetwork.create(List.of("a-very-long-host"))).hasMessageContaining("1-12");
    }

    private record Send(boolean ok, String output) {}

    /** Starts the sink on {@code host} and waits until it listens. */
    private void sink(String host) throws Exception {
        Process p = new ProcessBuilder(net.command(host, java(List.of("sink", Integer.toString(PORT)))))
                .redirectErrorStream(true).start();
        children.add(p);
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        assertThat(line).as("the sink on host " + host).isEqualTo(TcpProbe.LISTENING);
    }

    /** Sends from {@code from} to {@code to}'s sink, retrying while a restored link comes up; the ms it took. */
    private long send(String from, String to, long bytes, int timeoutMs) throws Exception {
        Send s = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            s = sendOnce(from, to, bytes, timeoutMs);
            if (s.ok()) {
                Matcher m = SENT.matcher(s.output());
                assertThat(m.find()).as(s.output()).isTrue();
                assertThat(Long.parseLong(m.group(1))).isEqualTo(bytes);
                return Long.parseLong(m.group(2));
            }
        }
        throw new AssertionError("sending " + bytes + " bytes from " + from + " to " + to + " failed: " + s.output());
    }

    private Send sendOnce(String from, String to, long bytes, int timeoutMs) throws Exception {
        Process p = new ProcessBuilder(net.command(from, java(List.of("send", net.address(to), Integer.toString(PORT),
                Long.toString(bytes), Integer.toString(timeoutMs))))).redirectErrorStream(true).start();
        children.add(p);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Send(p.waitFor() == 0, out.strip());
    }

    private static List<String> java(List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx64m",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), TcpProbe.class.getName()));
        cmd.addAll(args);
        return cmd;
    }
}
