package ferry.qapi;

import java.time.Instant;

/** When QEMU emitted an event (seconds and microseconds since the epoch, host clock). */
public record Timestamp(long seconds, long microseconds) {
    public Instant instant() {
        return Instant.ofEpochSecond(seconds, microseconds * 1000);
    }
}
