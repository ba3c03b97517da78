package ferry.migration.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.migration.MigrationRequest;
import ferry.migration.Tuning;
import ferry.migration.qemu.QemuFeatures;
import ferry.node.QemuBinary;
import ferry.node.QemuProcess;
import ferry.qmp.QmpCommandException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our settings against a real, idle QEMU: what we build it accepts exactly, and every combination
 * we refuse before starting it refuses too (so our rules are QEMU's, not guesses).
 */
@Timeout(60)
class StreamSetupQemuTest {
    @TempDir
    Path dir;
    QemuProcess q;
    QemuFeatures features;

    @BeforeEach
    void start() {
        QemuBinary qemu = QemuBinary.find();
        q = QemuProcess.builder(qemu, dir).name("ferry-stream-setup").machine("none").memoryMiB(16).start();
        features = QemuFeatures.of(q, "a", qemu.version(), true);
    }

    @AfterEach
    void stop() {
        q.kill();
    }

    private StreamSetup setup(String policy, MigrationRequest.Limits limits, Tuning t) {
        Set<String> caps = features.capabilities();
        var ctx = new Policies.Context(1024, 2, 64L << 20, null, 60_000, limits, caps, caps, false);
        return StreamSetup.of(Policies.create(policy, ctx).setup(), t, features, 16L << 20);
    }

    private void apply(StreamSetup s) {
        q.qmp().execute("migrate-set-capabilities", StreamSetup.capabilityArgs(s.sourceCaps()));
        q.qmp().execute("migrate-set-parameters", s.sourceParams());
    }

    private Map<String, Boolean> capsNow() {
        Map<String, Boolean> now = new HashMap<>();
        q.qmp().execute("query-migrate-capabilities", null)
                .forEach(c -> now.put(c.path("capability").asText(), c.path("state").asBoolean()));
        return now;
    }

    @Test
    void thisQemuOffersWhatTheTuningUses() {
        assertThat(features.compressions()).contains("none", "zlib", "zstd");
        Tuning all = new Tuning(4, "zstd", 3, "multifd", null, null, true, true, 100, true, null);
        assertThat(features.lacks(all)).isEmpty();
        String why = QemuFeatures.dirtyLimitProblem(q);
        System.out.println("dirty-limit on a TCG QEMU: " + why);
        assertThat(why).as("dirty-limit needs a KVM dirty ring, and this QEMU runs TCG").contains("KVM");
        assertThat(capsNow()).as("asking left it off").containsEntry("dirty-limit", false);
    }

    @Test
    void everySettingWeBuildIsAcceptedExactly() {
        var throttleAndPostcopy = new MigrationRequest.Limits(null, true, true, true, null);
        Tuning[] tunings = {
                Tuning.NONE,
                new Tuning(4, "zstd", 3, "multifd", false, null, true, false, 100, true, null),
                new Tuning(2, "zlib", 9, "legacy", false, null, false, true, null, false, null),
                new Tuning(null, null, null, "none", true, 8, true, false, null, true, null)};
        for (String policy : Policies.NAMES) {
            for (Tuning t : tunings) {
                var limits = t.multifd() ? new MigrationRequest.Limits(null, true, false, true, null) : throttleAndPostcopy;
                if (!t.conflicts(policy, limits, Policies.turnsOn(policy, limits)).isEmpty()) {
                    continue;
                }
                StreamSetup s = setup(policy, limits, t);
                apply(s);
                Map<String, Boolean> now = capsNow();
                s.sourceCaps().forEach((c, on) -> assertThat(now.get(c)).as(policy + " " + t + ": " + c).isEqualTo(on));
                JsonNode params = q.qmp().execute("query-migrate-parameters", null);
                s.sourceParams().fieldNames().forEachRemaining(p -> assertThat(params.path(p).asText())
                        .as(policy + " " + t + ": " + p).isEqualTo(s.sourceParams().path(p).asText()));
            }
        }
    }

    @Test
    void whatWeRefuseQemuRefusesToo() {
        var postcopy = new MigrationRequest.Limits(null, false, true, false, null);
        var nothing = MigrationRequest.Limits.DEFAULTS;
        Object[][] cases = {
                {"classic", nothing, new Tuning(2, null, null, null, null, null, false, false, null, false, null), "xbzrle"},
                {"budget", postcopy, new Tuning(2, null, null, null, null, null, false, false, null, false, null), "ostcopy"},
                {"budget", nothing, new Tuning(2, null, null, null, true, null, false, false, null, false, null), "xbzrle"}};
        for (Object[] c : cases) {
            String policy = (String) c[0];
            var limits = (MigrationRequest.Limits) c[1];
            Tuning t = (Tuning) c[2];
            assertThat(t.conflicts(policy, limits, Policies.turnsOn(policy, limits))).as("we refuse " + t).isNotEmpty();
            apply(setup("budget", nothing, Tuning.NONE)); // a clean start
            QmpCommandException e = catchThrowableOfType(QmpCommandException.class, () -> apply(setup(policy, limits, t)));
            assertThat(e).as("QEMU refuses " + policy + " " + t + " too").isNotNull();
            assertThat(e.description()).containsIgnoringCase((String) c[3]);
        }
    }
}
