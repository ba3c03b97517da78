package ferry.migration.recovery;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.MigrationStep;
import ferry.migration.phase.Phase2Monitor;
import ferry.node.VmDefinition;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * What the journal of one migration says: who took part, whether the guest was running, which
 * steps were reached (each written before it acted, so a reached step may or may not have
 * happened), and which volume copies it made: {@code copied} as the target names them, {@code moved}
 * the same volumes on the source, in the same order; {@code postcopyBandwidth} the user's postcopy
 * limit when postcopy started (bytes/s, 0 none, -1 not journaled).
 */
public record JournalState(String taskId, int vmid, String source, String target, boolean online, boolean userPaused,
                           Set<MigrationStep> reached, MigrationStep last, List<VmDefinition.Disk> copied,
                           List<VmDefinition.Disk> moved, List<Ejected> ejected, long postcopyBandwidth) {

    /** A cdrom medium --force ejected on the source: drive {@code diskN}, and the image to put back. */
    public record Ejected(String drive, String storage, String volume, String format) {}

    public static JournalState of(String taskId, List<ObjectNode> entries) {
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("the journal of task " + taskId + " is empty");
        }
        ObjectNode first = entries.get(0);
        boolean online = false;
        boolean userPaused = false;
        Set<MigrationStep> reached = EnumSet.noneOf(MigrationStep.class);
        List<VmDefinition.Disk> copied = new ArrayList<>();
        List<VmDefinition.Disk> moved = new ArrayList<>();
        List<Ejected> ejected = new ArrayList<>();
        MigrationStep last = null;
        long postcopyBandwidth = -1;
        for (ObjectNode e : entries) {
            MigrationStep s = MigrationStep.fromWire(e.path("kind").asText());
            if (s == null) {
                continue; // an entry of a newer Ferry, or one without a kind: it names no step we act on
            }
            reached.add(s);
            last = s;
            if (s == MigrationStep.LOCK) {
                online = e.path("online").asBoolean();
                userPaused = e.path("user_paused").asBoolean();
            }
            if (s == MigrationStep.COPY_VOLUME || s == MigrationStep.ALLOCATE_VOLUME) {
                String storage = e.path("storage").asText();
                String volume = e.path("volume").asText();
                copied.add(new VmDefinition.Disk(e.path("target_storage").asText(storage), volume, null, null));
                moved.add(new VmDefinition.Disk(storage, volume, null, null));
            }
            if (s == MigrationStep.START_POSTCOPY) {
                postcopyBandwidth = e.path(Phase2Monitor.POSTCOPY_LIMIT_KEY).asLong(-1);
            }
            if (s == MigrationStep.EJECT_MEDIUM) {
                ejected.add(new Ejected(e.path("drive").asText(), e.path("storage").asText(), e.path("volume").asText(),
                        e.path("format").asText("raw")));
            }
        }
        return new JournalState(taskId, first.path("vmid").asInt(), first.path("source").asText(),
                first.path("target").asText(), online, userPaused, Set.copyOf(reached), last, List.copyOf(copied),
                List.copyOf(moved), List.copyOf(ejected), postcopyBandwidth);
    }

    boolean reachedStep(MigrationStep s) {
        return reached.contains(s);
    }
}
