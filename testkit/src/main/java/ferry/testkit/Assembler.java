package ferry.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Turns bootblock.S into a flat 512-byte image with GNU as/ld. */
final class Assembler {
    private static final long TOOL_TIMEOUT_SECONDS = 60;

    private Assembler() {}

    /** Assembles {@code source} and atomically publishes the image at {@code target}. */
    static void assemble(byte[] source, Path target) throws IOException {
        // Work inside the target's directory so the final rename never crosses file systems.
        Path work = Files.createTempDirectory(target.toAbsolutePath().getParent(), "bootblock-build-");
        try {
            Path src = work.resolve("bootblock.S");
            Path obj = work.resolve("bootblock.o");
            Path img = work.resolve("bootblock.img");
            Files.write(src, source);
            run(work, List.of("as", "--32", "-o", obj.toString(), src.toString()));
            run(work, List.of("ld", "-m", "elf_i386", "-Ttext", "0x7c00", "--oformat", "binary",
                    "-o", img.toString(), obj.toString()));
            String problem = Bootblock.checkImage(Files.readAllBytes(img));
            if (problem != null) {
                throw new IOException("assembled bootblock is unusable: " + problem);
            }
            AtomicFiles.move(img, target);
        } finally {
            deleteTree(work);
        }
    }

    static void run(Path dir, List<String> command) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run '" + command.getFirst()
                    + "' to build the bootblock guest; install binutils (scripts/install-deps)", e);
        }
        try {
            p.getOutputStream().close();
            // Output is tiny (diagnostics only), so reading it before waiting cannot deadlock.
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(TOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new IOException(String.join(" ", command) + " timed out");
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " failed with exit code "
                        + p.exitValue() + ":\n" + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while building the bootblock guest", e);
        } finally {
            p.destroyForcibly();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
