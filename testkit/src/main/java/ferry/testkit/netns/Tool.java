package ferry.testkit.netns;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs {@code ip} and {@code tc}: stdout on success, else an error naming the command and its stderr. */
final class Tool {
    private static final long TIMEOUT_S = 30;

    private Tool() {}

    /** What one run printed and how it ended. */
    record Result(int exit, String out, String err) {
        boolean ok() {
            return exit == 0;
        }
    }

    /** Runs {@code cmd}; a failure throws {@link HostNetworkException} with {@code what} as its context. */
    static String run(String what, List<String> cmd) {
        Result r = attempt(cmd);
        if (!r.ok()) {
            throw new HostNetworkException(what + ": `" + String.join(" ", cmd) + "` failed (exit " + r.exit() + "): "
                    + (r.err().isBlank() ? "(no message)" : r.err().strip()));
        }
        return r.out();
    }

    /** Runs {@code cmd} and reports how it ended; only a command that cannot start at all throws. */
    static Result attempt(List<String> cmd) {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            throw new HostNetworkException("cannot run `" + String.join(" ", cmd) + "`: " + e.getMessage()
                    + " (iproute2 provides ip and tc)", e);
        }
        // stderr drains on its own thread so that neither pipe can fill and block the other
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        String out = read(p.getInputStream());
        try {
            if (!p.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new HostNetworkException("`" + String.join(" ", cmd) + "` did not finish within " + TIMEOUT_S + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new HostNetworkException("interrupted while running `" + String.join(" ", cmd) + "`", e);
        }
        return new Result(p.exitValue(), out, err.join());
    }

    private static String read(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
