package ferry.cli;

import static ferry.cli.FerryCli.ferry;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line itself: bad arguments in one line with exit 2, and the generated shell completion. */
class CommandLineTest {
    @TempDir
    Path tmp;

    @Test
    void aVmidOutOfRangeSaysTheRangeNotTheWholeUsage() {
        for (String[] args : new String[][] {{"vm", "status", "99999999999"}, {"migrate", "12", "b"},
                {"plan", "abc", "b"}, {"vm", "unlock", "-5"}}) {
            FerryCli.Run r = ferry(args);
            assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
            assertThat(r.err()).contains("VMID must be a whole number from 100 to 999999999, got '" + args[args.length
                    - (args[0].equals("vm") ? 1 : 2)] + "'").doesNotContain("Usage:");
            assertThat(r.err().lines()).as(r.err()).hasSizeLessThanOrEqualTo(2);
        }
        FerryCli.Run negative = ferry("migrate", "100", "b", "--max-downtime", "-5");
        assertThat(negative.code()).isEqualTo(Main.USAGE);
        assertThat(negative.err().strip()).startsWith("ferry: --max-downtime must be a whole number above zero, got '-5'");
        FerryCli.Run zero = ferry("plan", "100", "b", "--bwlimit", "0");
        assertThat(zero.err()).contains("ferry: --bwlimit must be a whole number above zero, got '0'");
        FerryCli.Run typo = ferry("vm", "statuss", "100");
        assertThat(typo.code()).isEqualTo(Main.USAGE);
        assertThat(typo.err()).contains("Did you mean: vm status").doesNotContain("Usage:");
    }

    @Test
    void aCommandAskedForJsonThatFailsPrintsOneJsonObjectToo() throws Exception {
        FerryCli.Run r = ferry("migrate", "100", "b", "--json", "--cluster", tmp.resolve("none").toString());
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).startsWith("ferry: ");
        var o = VmCommand.JSON.readTree(r.out());
        assertThat(o.path("status").asText()).isEqualTo("refused");
        assertThat(o.path("exit_code").asInt()).isEqualTo(Main.USAGE);
        assertThat(o.path("error").asText()).as(r.both()).isEqualTo(r.err().strip().substring("ferry: ".length()));
        FerryCli.Run plain = ferry("migrate", "100", "b", "--cluster", tmp.resolve("none").toString());
        assertThat(plain.out()).as("without --json, stdout stays empty").isEmpty();
    }

    @Test
    void aClusterPortOutOfRangeIsRefusedBeforeAnythingIsMade() {
        FerryCli.Run r = ferry("cluster", "create", tmp.resolve("c").toString(), "--nodes", "a,b", "--port", "65535");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("--port must leave room for 2 consecutive ports within 1-65535");
        assertThat(tmp.resolve("c")).doesNotExist();
    }

    @Test
    void completionIsABashScriptThatCompletesCommandsAndOptions() throws Exception {
        FerryCli.Run r = ferry("completion");
        assertThat(r.code()).as(r.both()).isZero();
        Path script = Files.writeString(tmp.resolve("ferry-completion.bash"), r.out());
        assertThat(complete(script, "ferry mig")).contains("migrate");
        assertThat(complete(script, "ferry task list --ru")).contains("--running");
        assertThat(complete(script, "ferry vm un")).contains("unlock");
    }

    /** What bash offers for the line, as its completion function computes it. */
    private static List<String> complete(Path script, String line) throws Exception {
        String words = line.endsWith(" ") ? line + "''" : line;
        String cmd = "source " + script + " 2>/dev/null; COMP_LINE='" + line + "'; COMP_POINT=${#COMP_LINE}; "
                + "COMP_WORDS=(" + words + "); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); "
                + "_complete_ferry 2>/dev/null; printf '%s\\n' \"${COMPREPLY[@]}\"";
        Process p = new ProcessBuilder("bash", "-c", cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out.lines().map(String::strip).toList();
    }
}
