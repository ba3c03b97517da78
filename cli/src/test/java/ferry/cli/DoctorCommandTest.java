package ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.qapi.QapiJson;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class DoctorCommandTest {
    private record Run(int code, String out, String err) {}

    private static Run ferry(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void jsonHasTheDocumentedFields() throws Exception {
        Run r = ferry("doctor", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = QapiJson.mapper().readTree(r.out());
        assertThat(ferry.agent.JsonKeys.notSnakeCase(j)).as("keys not in snake_case").isEmpty();
        assertThat(j.at("/qemu/version").asText()).startsWith("10.0");
        assertThat(j.at("/kvm/present").isBoolean()).isTrue();
        assertThat(j.at("/kvm/device").asText()).isIn("usable", "absent", "no-permission");
        JsonNode cmds = j.at("/binding/commands");
        assertThat(cmds.get("total").asInt()).isEqualTo(cmds.get("bound").size()).isGreaterThanOrEqualTo(29);
        assertThat(cmds.get("present").asInt()).isEqualTo(cmds.get("total").asInt());
        assertThat(cmds.get("missing")).isEmpty();
        assertThat(cmds.get("bound").toString()).contains("\"migrate\"", "\"migrate-incoming\"", "\"query-migrate\"",
                "\"migrate-start-postcopy\"", "\"migrate-recover\"", "\"migrate-pause\"", "\"calc-dirty-rate\"");
        assertThat(j.at("/binding/mismatches").isArray()).isTrue();
        assertThat(j.at("/binding/mismatches").toString()).contains("MigrationCapability.compress");
        assertThat(j.at("/binding/unexpected_differences")).isEmpty();
        assertThat(j.get("capabilities").toString()).contains("\"postcopy-ram\"", "\"mapped-ram\"");
        // Debian's QEMU links GnuTLS: it loads Ferry's certificates and keys
        assertThat(j.at("/tls/able").asBoolean()).as(j.at("/tls/detail").asText()).isTrue();
    }

    @Test
    void humanReportEndsWithVerdict() {
        Run r = ferry("doctor");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("QEMU      10.0").contains("OK: this host can run Ferry.")
                .contains("TLS       QEMU can carry migration and NBD streams over TLS");
    }

    @Test
    void unknownOptionIsAUsageError() {
        Run r = ferry("doctor", "--bogus");
        assertThat(r.code()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("Unknown option: '--bogus'");
    }
}
