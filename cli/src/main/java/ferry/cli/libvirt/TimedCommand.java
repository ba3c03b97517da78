package ferry.cli.libvirt;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a command (virsh, or the Ferry CLI it is compared with) to its end or its timeout, timing it;
 * its output goes through files, so no pipe can fill and block it.
 */
public final class TimedCommand {
    /** How a run ended: its exit code (-1 when it timed out), stdout and stderr. */
    public record Result(int exit, String out, String err, long wallMs) {}

    private TimedCommand() {}

    public static Result run(List<String> cmd, Duration timeout) {
        return run(cmd, java.util.Map.of(), timeout);
    }

    /** @param env variables added to this process's environment */
    public static Result run(List<String> cmd, java.util.Map<String, String> env, Duration timeout) {
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("ferry-cmd", ".out");
            err = Files.createTempFile("ferry-cmd", ".err");
            long t0 = System.nanoTime();
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().putAll(env);
            Process p = pb.start();
            boolean ended = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            long wall = (System.nanoTime() - t0) / 1_000_000;
            if (!ended) {
                p.destroyForcibly().waitFor();
            }
            return new Result(ended ? p.exitValue() : -1, Files.readString(out, StandardCharsets.UTF_8),
                    ended ? Files.readString(err, StandardCharsets.UTF_8)
                            : "did not finish within " + timeout.toSeconds() + " s", wall);
        } catch (IOException e) {
            return new Result(-1, "", "cannot run `" + String.join(" ", cmd) + "`: " + e.getMessage(), 0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "", "interrupted", 0);
        } finally {
            for (Path f : new Path[] {out, err}) {
                if (f != null) {
                    f.toFile().delete();
                }
            }
        }
    }
}
