package ferry.migration.phase;

/** Pauses that give up quietly when the thread is interrupted (it keeps its interrupt flag). */
public final class Sleep {
    private Sleep() {}

    public static void quietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
