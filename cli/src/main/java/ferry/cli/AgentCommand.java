package ferry.cli;

import ferry.agent.Agent;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ferry agent}: runs one node's agent in the foreground until stopped. */
@Command(name = "agent", mixinStandardHelpOptions = true,
        description = {"Runs the agent of one node in the foreground: the HTTP/JSON API on the node's agent address. "
                + "SIGTERM or Ctrl-C stops it once running migrations have finished or cleaned up; the VMs keep "
                + "running."})
final class AgentCommand implements Callable<Integer> {
    @Option(names = "--node", required = true, description = "This node's name in the cluster.")
    String node;

    @Option(names = "--cluster", required = true, paramLabel = "DIR", description = "The cluster folder.")
    Path cluster;

    @Option(names = "--lease-ttl", paramLabel = "S", defaultValue = "${sys:ferry.leaseTtl:-10}",
            description = {"How long the node counts as alive after the agent last renewed its claim in the cluster store "
                + "(default ${DEFAULT-VALUE} s). Once it lapses, peers show the node down and do the target's part "
                + "of its migrations."})
    int leaseTtl;

    @Option(names = "--allow-plain-streams", description = {"Take migration streams from peers in plain TCP when they ask (ferry migrate --no-tls), to "
                + "measure what TLS costs. Without it a peer's plain request is refused."})
    boolean allowPlainStreams;

    @Option(names = "--memory-reserve", paramLabel = "MiB", defaultValue = "${env:FERRY_MEMORY_RESERVE_MIB:-0}",
            description = {"Memory of this host that incoming VMs may not take (default ${DEFAULT-VALUE}, or "
                + "$FERRY_MEMORY_RESERVE_MIB): a migration here is refused when the VM's memory plus 128 MiB for QEMU "
                + "does not fit in the host's available memory (MemAvailable) less this reserve."})
    long memoryReserveMiB;

    @Override
    public Integer call() throws InterruptedException {
        if (allowPlainStreams) {
            System.setProperty(Agent.ALLOW_PLAIN_STREAMS, "true");
        }
        if (leaseTtl < 2) {
            throw new UsageError("--lease-ttl must be at least 2 s (etcd's shortest lease), got " + leaseTtl);
        }
        if (memoryReserveMiB < 0) {
            throw new UsageError("--memory-reserve must be 0 or more MiB, got " + memoryReserveMiB);
        }
        Agent agent = Agent.start(cluster, node, java.time.Duration.ofSeconds(leaseTtl), memoryReserveMiB << 20);
        CountDownLatch stopped = new CountDownLatch(1);
        // a stop signal waits for the safe point: the hook returns only after the tasks ended
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            agent.close();
            stopped.countDown();
        }, "agent-shutdown"));
        System.err.println("ferry agent: node '" + node + "' listening on port " + agent.port());
        stopped.await();
        return Main.OK;
    }
}
