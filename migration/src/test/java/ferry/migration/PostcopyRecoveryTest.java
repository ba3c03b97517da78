package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.protocol.Commands;
import ferry.testkit.BootblockGuest;
import ferry.testkit.LinkRelay;
import ferry.testkit.PageOracle;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Postcopy with the link between the nodes really cut: every migration connection goes through
 * a loopback relay that the test severs once the guest runs on the target, and restores 3 s
 * later. Ferry must wait, recover and complete without killing either QEMU.
 */
@Timeout(180)
class PostcopyRecoveryTest {
    static final BootblockGuest HOT = new BootblockGuest(128, 1024 * 1024 + (32L << 20), 20_000);

    @TempDir
    Path dir;

    /** The target reached through relays; cuts the link a moment after the guest resumed there. */
    static final class CutLink extends ForwardingTarget implements AutoCloseable {
        final LocalNode node;
        volatile long targetPid;
        final List<LinkRelay> relays = new CopyOnWriteArrayList<>();
        final AtomicBoolean cut = new AtomicBoolean();
        volatile long cutAt;
        volatile long restoredAt;

        CutLink(TargetNode real, LocalNode node) {
            super(real);
            this.node = node;
        }

        private Endpoint through(Endpoint ep) {
            for (LinkRelay r : relays) {
                if (r.toString().contains("-> " + ep.host() + ":" + ep.port())) {
                    return new Endpoint(r.host(), r.port(), ep.capabilities());
                }
            }
            try {
                LinkRelay r = LinkRelay.start(ep.host(), ep.port());
                if (cut.get()) {
                    r.cut();
                }
                relays.add(r);
                return new Endpoint(r.host(), r.port(), ep.capabilities());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override public Endpoint startIncoming(VmDefinition vm, Set<String> caps, ObjectNode params, String source,
                                                boolean tls) {
            return through(real.startIncoming(vm, caps, params, source, tls));
        }
        @Override public Endpoint recover(int vmid) { return through(real.recover(vmid)); }

        @Override
        public void resume(int vmid) {
            real.resume(vmid);
            targetPid = node.running(vmid).orElseThrow().pid();
            Thread.ofVirtual().start(() -> {
                sleep(300);
                cut.set(true);
                relays.forEach(LinkRelay::cut);
                cutAt = System.nanoTime();
                sleep(3000);
                cut.set(false);
                relays.forEach(LinkRelay::restore);
                restoredAt = System.nanoTime();
            });
        }

        @Override
        public void close() {
            relays.forEach(LinkRelay::close);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aLinkCutDuringPostcopyIsRecovered() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition vm = nodes.bootblockVm(600, HOT);
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            long srcPid = src.pid();
            CutLink link = new CutLink(new LocalTarget(nodes.b, nodes.volumes, "127.0.0.1"), nodes.b);
            Migration m = new Migration(nodes.store, nodes.a, nodes.volumes, n -> link).pollInterval(Duration.ofMillis(300));
            MigrationResult r;
            try (link) {
                r = m.run(new MigrationRequest(600, "b", true, false, 8, 300, "budget",
                        new MigrationRequest.Limits(60, false, true, false, 30)), "task-600", new TaskLog(), new CancelSignal());
            }
            String log = String.join("\n", r.log());
            System.out.println(log);
            assertThat(r.status()).as(r.error()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(r.postcopy()).isTrue();
            assertThat(link.cutAt).as("the link was cut").isPositive();
            assertThat(log).contains("postcopy paused: the link to node 'b' broke")
                    .containsPattern("postcopy recovery attempt \\d+: target listens at tcp:127.0.0.1:\\d+, source resumes")
                    .contains("migration status: completed (postcopy)");
            assertThat(nodes.store.vm(600).orElseThrow().owner()).isEqualTo("b");
            assertThat(nodes.store.vm(600).orElseThrow().lock()).isNull();
            // the source QEMU was stopped by the hand-over only after postcopy completed
            assertThat(nodes.a.status(600).state()).isEqualTo(LocalNode.State.STOPPED);
            assertThat(ProcessHandle.of(srcPid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            QemuProcess target = nodes.b.running(600).orElseThrow();
            assertThat(target.pid()).as("the target QEMU that took over is the one that finished").isEqualTo(link.targetPid);
            target.qmp().call(Commands.STOP);
            PageOracle.Result oracle = HOT.checkMemory(target);
            assertThat(oracle.ok()).as(oracle.message()).isTrue();
        }
    }
}
