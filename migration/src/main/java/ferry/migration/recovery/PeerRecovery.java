package ferry.migration.recovery;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterStore;
import ferry.cluster.VmRecord;
import ferry.migration.LocalTarget;
import ferry.migration.MigrationRefused;
import ferry.migration.MigrationStep;
import ferry.migration.StepHook;
import ferry.migration.TargetNode;
import ferry.migration.disk.DiskRecords;
import ferry.node.LocalNode;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out {@link PeerDecision} on the target node: journals each step before it acts (at the
 * journal's length as read, so an orchestrator that comes back meanwhile fences this, and this
 * fences it), and leaves the journal open with what is left for the source's agent.
 */
public final class PeerRecovery {
    private static final Logger log = LoggerFactory.getLogger(PeerRecovery.class);

    /** What a look at one journal came to. */
    public record Outcome(boolean acted, String summary) {}

    private final ClusterStore store;
    private final LocalNode local;
    private final java.util.function.Function<String, TargetNode> targets;
    private final StepHook hook;

    public PeerRecovery(ClusterStore store, LocalNode local, java.util.function.Function<String, TargetNode> targets,
                        StepHook hook) {
        this.store = store;
        this.local = local;
        this.targets = targets;
        this.hook = hook;
    }

    public Outcome run(String taskId) {
        List<ObjectNode> entries = store.journal(taskId);
        JournalState j = JournalState.of(taskId, entries);
        if (!j.target().equals(local.name())) {
            throw new MigrationRefused("task " + taskId + " migrates to node '" + j.target() + "', not to '"
                    + local.name() + "'");
        }
        int vmid = j.vmid();
        String owner = store.vm(vmid).map(VmRecord::owner).orElse(j.source());
        PeerDecision.Action a = PeerDecision.decide(j, owner, LocalTarget.stateOf(local, vmid));
        if (a instanceof PeerDecision.Wait w) {
            return new Outcome(false, w.why());
        }
        Journal journal = new Journal(store, taskId, vmid, j.source(), j.target(), entries.size(), hook);
        journal.step(MigrationStep.PEER_RECOVER, "taken on by the target's agent", e -> e.put("why", a.why()));
        log.info("migration {} of VM {}: node '{}' is down; {}", taskId, vmid, j.source(), a.why());
        String left;
        switch (a) {
            case PeerDecision.TakeOver t -> {
                if (t.moveOwner()) {
                    journal.step(MigrationStep.MOVE_OWNER, "move ownership to " + j.target());
                    store.move(vmid, j.source(), j.target());
                }
                TargetNode here = targets.apply(j.target()); // this node's target side, as a hand-over uses it
                if (t.resume() && !here.state(vmid).running()) {
                    journal.step(MigrationStep.RESUME_TARGET, "resume on " + j.target());
                    here.resume(vmid); // a disk mirror's exports end first, as in every hand-over
                }
                Recovery.awaitRunning(here::state, vmid, j.target());
                journal.step(MigrationStep.TARGET_RUNNING, "runs on " + j.target());
                DiskRecords.retarget(store, vmid, j.target(), j.moved(), j.copied());
                left = "node '" + j.source() + "' must stop its paused copy of VM " + vmid + ", free its volumes and "
                        + "drop the migrate lock: its agent does it when it runs again; if that node is gone for "
                        + "good, run 'ferry vm unlock " + vmid + " --force' (the guest runs on node '" + j.target() + "')";
            }
            case PeerDecision.DropTarget d -> {
                local.stop(vmid, Duration.ofSeconds(10));
                left = "node '" + j.source() + "' must resume its copy of VM " + vmid + " (or find it gone) and drop the "
                        + "migrate lock: its agent does it when it runs again";
            }
            case PeerDecision.Wait w -> throw new IllegalStateException("handled above");
        }
        journal.step(MigrationStep.PEER_DONE, "target's part done", e -> e.put("left", left));
        log.info("migration {} of VM {}: left for node '{}': {}", taskId, vmid, j.source(), left);
        return new Outcome(true, a.why() + "; left: " + left);
    }
}
