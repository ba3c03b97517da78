package ferry.cli.drill;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.testkit.Bootblock;
import ferry.testkit.BootblockGuest;

/** How the drill migrates a guest: a bandwidth limit so that pre-copy lasts long enough to be hit, and a policy. */
record MigrationOptions(int bwlimitMiBps, String policy, Integer downtimeMs, boolean allowPostcopy, Integer maxDurationS) {
    /** A calm guest: 16 MiB dirtied slowly, 128 MiB of RAM; at 6 MiB/s pre-copy takes a few seconds. */
    static final BootblockGuest CALM = new BootblockGuest(128, Bootblock.REGION_START + (16L << 20), 400_000);
    /** A guest dirtying 32 MiB faster than the link carries it: only postcopy moves it (see PolicyTest's HOT). */
    static final BootblockGuest HOT = new BootblockGuest(128, Bootblock.REGION_START + (32L << 20), 20_000);

    static final MigrationOptions PRECOPY = new MigrationOptions(6, null, null, false, null);
    static final MigrationOptions POSTCOPY = new MigrationOptions(16, "budget", 300, true, 90);

    void addTo(ObjectNode req) {
        req.put("bwlimit", bwlimitMiBps);
        if (policy != null) {
            req.put("policy", policy);
        }
        if (downtimeMs != null) {
            req.put("downtime", downtimeMs);
        }
        if (allowPostcopy) {
            req.put("allow_postcopy", true);
        }
        if (maxDurationS != null) {
            req.put("max_duration", maxDurationS);
        }
    }
}
