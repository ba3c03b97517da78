package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.node.QemuProcess;
import ferry.protocol.Commands;
import ferry.protocol.JobDismissArgs;
import ferry.protocol.JobStatus;
import ferry.protocol.JobStatusChangeEvent;
import ferry.protocol.RunState;
import ferry.protocol.SnapshotDeleteArgs;
import ferry.protocol.SnapshotLoadArgs;
import ferry.protocol.SnapshotSaveArgs;
import ferry.qmp.EventSubscription;
import ferry.qmp.QmpEventMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code snapshot-save}, {@code snapshot-load}, {@code snapshot-delete} on a qcow2 attached with
 * {@code -blockdev}: jobs followed through JOB_STATUS_CHANGE, checked with raw {@code query-jobs}
 * (not bound) and dismissed; the reloaded guest memory equals what was saved, byte for byte.
 */
@Timeout(120)
class SnapshotTest {
    static final String NODE = "snap0";
    static final String TAG = "ferry-snap";

    @TempDir Path dir;

    @Test
    void saveLoadDelete() throws Exception {
        Path qcow2 = dir.resolve("snapshots.qcow2");
        qemuImg("create", "-q", "-f", "qcow2", qcow2.toString(), "64M");
        try (MigrationPair p = MigrationPair.sourceOnly(dir, MigrationPair.GUEST,
                "-blockdev", "driver=file,filename=" + qcow2 + ",node-name=snapfile",
                "-blockdev", "driver=qcow2,file=snapfile,node-name=" + NODE)) {
            QemuProcess q = p.source;
            EventSubscription jobs = q.qmp().subscribe(JobStatusChangeEvent.NAME);

            // Stop, remember the memory, and save while stopped: the snapshot holds exactly that.
            q.qmp().call(Commands.STOP);
            PageOracle.Result saved = p.guest.checkMemory(q);
            assertThat(saved.ok()).as(saved.message()).isTrue();
            byte[] savedRegion = Files.readAllBytes(q.runDir().resolve("region.dump"));
            q.qmp().call(Commands.SNAPSHOT_SAVE, SnapshotSaveArgs.builder().jobId("save0").tag(TAG).vmstate(NODE)
                    .devices(List.of(NODE)).build());
            List<JobStatus> saveStatuses = awaitConcluded(jobs, "save0");
            assertThat(saveStatuses).startsWith(JobStatus.CREATED, JobStatus.RUNNING).endsWith(JobStatus.CONCLUDED);
            assertNoJobError(q, "save0");
            dismiss(q, jobs, "save0");
            assertThat(MigrationPair.status(q).status()).as("a stopped VM stays stopped").isEqualTo(RunState.PAUSED);
            assertThat(qemuImg("snapshot", "-l", "-U", qcow2.toString())).contains(TAG);

            // Run on: the counters move away from the saved state.
            int passes = BootblockGuest.passes(q);
            q.qmp().call(Commands.CONT);
            BootblockGuest.awaitPasses(q, passes + 3, Duration.ofSeconds(20));
            q.qmp().call(Commands.STOP);
            PageOracle.Result later = p.guest.checkMemory(q);
            assertThat(later.ok()).as(later.message()).isTrue();
            assertThat(Files.readAllBytes(q.runDir().resolve("region.dump"))).isNotEqualTo(savedRegion);

            // Load: back to the saved memory, byte for byte.
            q.qmp().call(Commands.SNAPSHOT_LOAD, SnapshotLoadArgs.builder().jobId("load0").tag(TAG).vmstate(NODE)
                    .devices(List.of(NODE)).build());
            awaitConcluded(jobs, "load0");
            assertNoJobError(q, "load0");
            dismiss(q, jobs, "load0");
            PageOracle.Result reloaded = p.guest.checkMemory(q);
            System.out.println("saved: " + saved.message() + "; later: " + later.message() + "; reloaded: " + reloaded.message());
            assertThat(reloaded).isEqualTo(saved);
            assertThat(Files.readAllBytes(q.runDir().resolve("region.dump"))).isEqualTo(savedRegion);
            passes = BootblockGuest.passes(q);
            q.qmp().call(Commands.CONT);
            BootblockGuest.awaitPasses(q, passes + 2, Duration.ofSeconds(20));

            // A tag that does not exist: the job concludes with an error that only query-jobs tells.
            q.qmp().call(Commands.SNAPSHOT_LOAD, SnapshotLoadArgs.builder().jobId("load1").tag("no-such-tag").vmstate(NODE)
                    .devices(List.of(NODE)).build());
            awaitConcluded(jobs, "load1");
            JsonNode failed = job(q, "load1");
            assertThat(failed.path("error").asText()).as("query-jobs error").contains("no-such-tag");
            dismiss(q, jobs, "load1");
            // QEMU stopped the VM to load and, as the load failed, leaves it stopped: cont resumes it.
            assertThat(MigrationPair.status(q).status()).isEqualTo(RunState.RESTORE_VM);
            PageOracle.Result untouched = p.guest.checkMemory(q);
            assertThat(untouched.ok()).as(untouched.message()).isTrue();
            passes = BootblockGuest.passes(q);
            q.qmp().call(Commands.CONT);
            BootblockGuest.awaitPasses(q, passes + 2, Duration.ofSeconds(20));
            assertThat(MigrationPair.status(q).status()).isEqualTo(RunState.RUNNING);

            // Delete: gone from the image.
            q.qmp().call(Commands.SNAPSHOT_DELETE, SnapshotDeleteArgs.builder().jobId("del0").tag(TAG)
                    .devices(List.of(NODE)).build());
            awaitConcluded(jobs, "del0");
            assertNoJobError(q, "del0");
            dismiss(q, jobs, "del0");
            assertThat(MigrationPair.rawCall(q, "query-jobs", null)).isEmpty();
            assertThat(qemuImg("snapshot", "-l", "-U", qcow2.toString())).doesNotContain(TAG);
        }
    }

    /** The job's statuses until it concluded, from JOB_STATUS_CHANGE (typed). */
    private static List<JobStatus> awaitConcluded(EventSubscription jobs, String id) {
        List<JobStatus> statuses = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            QmpEventMessage m = jobs.poll(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            assertThat(m).as("JOB_STATUS_CHANGE of " + id + " after " + statuses).isNotNull();
            JobStatusChangeEvent e = m.as(JobStatusChangeEvent.class);
            assertThat(e).as(m.toString()).isNotNull();
            if (!e.id().equals(id)) {
                continue;
            }
            statuses.add(e.status());
            if (e.status() == JobStatus.CONCLUDED) {
                return statuses;
            }
        }
    }

    private static void dismiss(QemuProcess q, EventSubscription jobs, String id) {
        q.qmp().call(Commands.JOB_DISMISS, JobDismissArgs.builder().id(id).build());
        QmpEventMessage m = jobs.await(e -> id.equals(e.data().path("id").asText()), Duration.ofSeconds(10));
        assertThat(m).as("JOB_STATUS_CHANGE after dismissing " + id).isNotNull();
        assertThat(m.as(JobStatusChangeEvent.class).status()).isEqualTo(JobStatus.NULL);
        assertThat(job(q, id)).as(id + " after job-dismiss").isNull();
    }

    private static void assertNoJobError(QemuProcess q, String id) {
        JsonNode j = job(q, id);
        assertThat(j).as("query-jobs entry of " + id).isNotNull();
        assertThat(j.path("status").asText()).isEqualTo("concluded");
        assertThat(j.get("error")).as(id + " error: " + j).isNull();
    }

    private static JsonNode job(QemuProcess q, String id) {
        for (JsonNode j : MigrationPair.rawCall(q, "query-jobs", null)) {
            if (j.path("id").asText().equals(id)) {
                return j;
            }
        }
        return null;
    }

    private static String qemuImg(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        Path img = MigrationPair.qemu().qemuImg();
        Assumptions.assumeTrue(img != null, "qemu-img not found next to QEMU or on PATH");
        cmd.add(img.toString());
        cmd.addAll(List.of(args));
        Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(proc.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(proc.exitValue()).as("qemu-img " + String.join(" ", args) + ": " + out).isZero();
        return out;
    }
}
