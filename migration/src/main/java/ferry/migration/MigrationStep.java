package ferry.migration;

import java.util.Locale;

/**
 * The journaled steps of a migration, in the order they can happen. Each is written to the
 * journal before it acts, so after a crash the last entry says what may have been under way.
 */
public enum MigrationStep {
    /** phase 1: the {@code migrate} lock is taken; the entry records whether the guest was running or paused. */
    LOCK("phase1"),
    /** phase 1: a local volume of a stopped VM is copied to the target (the entry names it). */
    COPY_VOLUME("phase1"),
    /**
     * phase 1: an empty target volume is created for a running VM's local disk (the entry names the
     * source storage, the target storage and the volume).
     */
    ALLOCATE_VOLUME("phase1"),
    /** phase 2: a local cdrom's medium is ejected on the source ({@code --force}); the entry names it. */
    EJECT_MEDIUM("phase2"),
    /** phase 2: the target QEMU is started paused, waiting for the stream. */
    START_INCOMING("phase2"),
    /** phase 2: the incoming target QEMU serves its disks over NBD. */
    EXPORT_DISKS("phase2"),
    /** phase 2: the source mirrors a local disk into the target's export (the entry names the job and the NBD node). */
    MIRROR_DISK("phase2"),
    /** phase 2: every mirror is switched to write-blocking (active) mode. */
    MIRROR_ACTIVE("phase2"),
    /** phase 2: the source starts sending. */
    MIGRATE("phase2"),
    /** phase 2: at pre-switchover, with the guest stopped, the mirrors end: the target's disks are frozen. */
    END_MIRRORS("phase2"),
    /** phase 2: the policy pauses the guest to finish (pause-and-finish). */
    PAUSE_GUEST("phase2"),
    /** phase 2: the policy switches to postcopy: from here the source alone can no longer take the guest back. */
    START_POSTCOPY("phase2"),
    /** phases 1 and 2 are undone: the VM stays on the source. */
    CLEANUP("cleanup"),
    /** phase 3: the target holds the whole state; ownership moves to it. */
    MOVE_OWNER("phase3"),
    /** phase 3: the target QEMU is told to run the guest. */
    RESUME_TARGET("phase3"),
    /**
     * phase 3: told to run the guest, the target answered that no QEMU of the VM runs there: it
     * died before it ever ran the guest, so the source may take the guest back.
     */
    TARGET_GONE("phase3"),
    /** phase 3: the target was seen running guest code; the source may be stopped from now on. */
    TARGET_RUNNING("phase3"),
    /** phase 3: postcopy is followed until the target holds every page. */
    FOLLOW_POSTCOPY("phase3"),
    /** phase 3: the postcopy link broke; both QEMUs wait paused for a recovery. */
    POSTCOPY_PAUSED("phase3"),
    /** phase 3: the target could not be resumed or reached; the source waits paused, never stopped. */
    HANDOVER_PENDING("phase3"),
    /** phase 3: ownership returns to the source, because the target died before it ever ran the guest. */
    OWNER_BACK("phase3"),
    /** phase 3: the source QEMU is stopped. */
    STOP_SOURCE("phase3"),
    /** phase 3: a local volume of a stopped VM is freed on the source after the copy moved. */
    FREE_SOURCE_VOLUME("phase3"),
    /** phase 3: the lock is dropped on the new owner. */
    UNLOCK("phase3"),
    /** an agent takes over an interrupted migration from its journal. */
    RECOVER("recovery"),
    /**
     * the target's agent acts for a migration whose orchestrating node is down (its liveness claim
     * lapsed): only what is safe whatever that node's QEMU does meanwhile; the entry says why.
     */
    PEER_RECOVER("recovery"),
    /** the target's agent did its part; the entry says what is left for the orchestrating node. */
    PEER_DONE("recovery"),
    /** the migration ended; the entry holds the outcome and the journal is closed after it. */
    ENDED("end");

    private final String phase;

    MigrationStep(String phase) {
        this.phase = phase;
    }

    /** The phase it belongs to, as the seed names them (phase1, phase2, phase3, ...). */
    public String phase() {
        return phase;
    }

    /** The name in the journal, e.g. {@code move-owner}. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The step of a journal entry's {@code kind}; null when the entry has none or an unknown one. */
    public static MigrationStep fromWire(String kind) {
        for (MigrationStep s : values()) {
            if (s.wire().equals(kind)) {
                return s;
            }
        }
        return null;
    }
}
