package ferry.dist;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** A command run to its end (at most 2 minutes), with what it printed on each stream. */
record Command(int code, String out, String err) {
    static Command run(ProcessBuilder pb) throws Exception {
        Path err = Files.createTempFile("ferry-dist", ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("%s ends", pb.command()).isTrue();
        String e = Files.readString(err);
        Files.delete(err);
        return new Command(p.exitValue(), out, e);
    }
}
