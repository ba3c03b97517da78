package ferry.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Runs the host tools that build the test guests (as, ld, gcc), with clear errors naming what to install. */
final class BuildTool {
    private BuildTool() {}

    /**
     * Runs {@code command} in {@code dir}. {@code what} names the guest being built; {@code hint}
     * says what to install when the tool is missing or fails.
     */
    static void run(Path dir, List<String> command, String what, String hint, long timeoutSeconds) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run '" + command.getFirst() + "' to build the " + what + " guest; " + hint, e);
        }
        try {
            p.getOutputStream().close();
            // output is diagnostics only, so reading it before waiting cannot deadlock
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                throw new IOException(String.join(" ", command) + " timed out");
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " failed with exit code " + p.exitValue()
                        + " (" + hint + "):\n" + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while building the " + what + " guest", e);
        } finally {
            p.destroyForcibly();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
