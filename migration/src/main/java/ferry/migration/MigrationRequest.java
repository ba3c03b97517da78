package ferry.migration;

/**
 * What the user asked for. Null limits mean the VM's own setting, else the default: effectively
 * unlimited bandwidth (the seed's 8192 MiB/s) and a 100 ms downtime.
 */
public record MigrationRequest(int vmid, String target, boolean online, boolean force, Integer bwlimitMiBps,
                               Integer downtimeMs, String policy) {
    public MigrationRequest {
        policy = policy == null ? "classic" : policy;
    }
}
