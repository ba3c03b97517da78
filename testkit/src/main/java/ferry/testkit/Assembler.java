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
    static final String HINT = "install binutils (scripts/install-deps)";

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
            BuildTool.run(work, List.of("as", "--32", "-o", obj.toString(), src.toString()), "bootblock", HINT,
                    TOOL_TIMEOUT_SECONDS);
            BuildTool.run(work, List.of("ld", "-m", "elf_i386", "-Ttext", "0x7c00", "--oformat", "binary",
                    "-o", img.toString(), obj.toString()), "bootblock", HINT, TOOL_TIMEOUT_SECONDS);
            String problem = Bootblock.checkImage(Files.readAllBytes(img));
            if (problem != null) {
                throw new IOException("assembled bootblock is unusable: " + problem);
            }
            AtomicFiles.move(img, target);
        } finally {
            BuildTool.deleteTree(work);
        }
    }


}
