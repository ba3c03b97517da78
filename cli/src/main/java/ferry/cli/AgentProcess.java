package ferry.cli;

import ferry.agent.AgentClient;
import ferry.agent.ClusterLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One node's agent as a separate process ({@code ferry agent}), started with this JVM's classpath
 * so it works from the shaded jar and from a test's classpath alike. The one place that launches
 * agents: {@code cluster up} and the drill, which must be able to kill -9 one.
 */
public final class AgentProcess {
    private final ClusterLayout layout;
    private final String node;
    private final Process process;

    private AgentProcess(ClusterLayout layout, String node, Process process) {
        this.layout = layout;
        this.node = node;
        this.process = process;
    }

    /**
     * Starts the agent of {@code node} (output appended to its agent log, pid in its pid file)
     * and returns once its API answers. {@code jvmOptions} go before the main class.
     */
    public static AgentProcess start(ClusterLayout layout, String node, List<String> jvmOptions, Duration ready)
            throws IOException, InterruptedException {
        return start(layout, node, List.of(), jvmOptions, ready);
    }

    /**
     * Like {@link #start(ClusterLayout, String, List, Duration)}, with the agent's command run
     * behind {@code launcher}, e.g. {@code ip netns exec NS} to start it inside a host's network
     * namespace. The launcher must exec the command in place, so that the pid and kill -9 reach
     * the agent itself; the agent's API must be reachable from this process.
     */
    public static AgentProcess start(ClusterLayout layout, String node, List<String> launcher, List<String> jvmOptions,
                                     Duration ready) throws IOException, InterruptedException {
        Files.createDirectories(layout.agentLog(node).getParent());
        Files.createDirectories(layout.agentPidFile(node).getParent());
        List<String> cmd = new ArrayList<>(launcher);
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "agent", "--node", node,
                "--cluster", layout.dir().toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(layout.agentLog(node).toFile())).start();
        Files.writeString(layout.agentPidFile(node), Long.toString(p.pid()));
        AgentProcess agent = new AgentProcess(layout, node, p);
        agent.awaitAnswer(ready);
        return agent;
    }

    private void awaitAnswer(Duration ready) throws InterruptedException {
        AgentClient client = client(layout, node);
        long deadline = System.nanoTime() + ready.toNanos();
        while (!answers(client)) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                String how = process.isAlive() ? "did not come up within " + ready.toSeconds() + " s"
                        : "exited with code " + process.exitValue() + " before its API answered";
                process.destroyForcibly();
                throw new IllegalStateException("agent of node '" + node + "' " + how + "; see " + layout.agentLog(node)
                        + ", which ends with:\n" + logTail(8));
            }
            Thread.sleep(100);
        }
    }

    /** The last lines of the agent's log: the reason it did not come up is there, and the log may be deleted soon after. */
    private String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(layout.agentLog(node));
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    /** A client of the agent of {@code node}, with the admin's certificate. */
    public static AgentClient client(ClusterLayout layout, String node) {
        return layout.adminClient(node);
    }

    /** What the agent says of its node (name, QEMU version and binary, ...); null when it does not answer. */
    static com.fasterxml.jackson.databind.JsonNode nodeInfo(AgentClient c) {
        try {
            return c.get("/api/v1/node");
        } catch (AgentClient.AgentException e) {
            return null;
        }
    }

    /** Whether the agent behind {@code c} answers its API. */
    public static boolean answers(AgentClient c) {
        try {
            c.get("/api/v1/node");
            return true;
        } catch (AgentClient.AgentException e) {
            return false;
        }
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** kill -9: no shutdown hook runs, tasks die mid-step. */
    public void kill() throws InterruptedException {
        kill(() -> { });
    }

    /** kill -9; {@code atSignal} runs right after the signal is sent, before the exit is awaited. */
    public void kill(Runnable atSignal) throws InterruptedException {
        process.destroyForcibly();
        atSignal.run();
        process.waitFor(30, TimeUnit.SECONDS);
        deletePidFile();
    }

    /** SIGTERM, like {@code ferry cluster down}: the agent lets running migrations reach their safe point. */
    public boolean stop(Duration max) throws InterruptedException {
        process.destroy();
        boolean ended = process.waitFor(max.toMillis(), TimeUnit.MILLISECONDS);
        if (ended) {
            deletePidFile();
        }
        return ended;
    }

    private void deletePidFile() {
        try {
            Files.deleteIfExists(layout.agentPidFile(node));
        } catch (IOException ignored) {
            // a stale pid file names a dead process: 'cluster down' reports it as not running
        }
    }
}
