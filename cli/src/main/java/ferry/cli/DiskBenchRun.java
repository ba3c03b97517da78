package ferry.cli;

/**
 * One S4 run: the linux-stress guest writes to its local disk while a live migration with
 * --with-local-disks moves it, the mirrors started as {@code mode} says.
 *
 * @param mode          the mirror mode asked for: auto, background, write-blocking
 * @param started       how the mirror started (Ferry's choice under auto)
 * @param diskBytes     what the mirror copied (the disk's length, growing with the guest's writes)
 * @param ramBytes      what the RAM migration sent
 * @param writesBefore  the guest's acknowledged writes before the migration, bytes/s
 * @param writesDuring  the same from the start of the migration to its end, bytes/s
 */
record DiskBenchRun(String mode, int repetition, String outcome, String started, long totalMs, Long downtimeMs,
                    Long diskBytes, Long ramBytes, Double writesBefore, Double writesDuring, String note) {
    /** The guest's write rate during the migration as a share of its rate before; null when unknown. */
    Double writeShare() {
        return writesBefore == null || writesDuring == null || writesBefore <= 0 ? null : writesDuring / writesBefore;
    }
}
