package ferry.qmp;

import ferry.qapi.QapiEvent;
import java.time.Duration;
import java.util.Map;

/**
 * How a {@link QmpClient} behaves: time limits, the longest line it accepts from the peer, whether
 * to ask for out-of-band execution, how many events a subscriber may leave unread, and which
 * record type each event name decodes to.
 */
public record QmpOptions(Duration connectTimeout, Duration callTimeout, int maxLineBytes, boolean enableOob,
                         int subscriberQueue, Map<String, Class<? extends QapiEvent>> eventTypes) {
    public static QmpOptions defaults() {
        return new QmpOptions(Duration.ofSeconds(10), Duration.ofSeconds(30), 16 << 20, true, 10_000, Map.of());
    }

    public QmpOptions withEventTypes(Map<String, Class<? extends QapiEvent>> types) {
        return new QmpOptions(connectTimeout, callTimeout, maxLineBytes, enableOob, subscriberQueue, types);
    }

    public QmpOptions withCallTimeout(Duration d) {
        return new QmpOptions(connectTimeout, d, maxLineBytes, enableOob, subscriberQueue, eventTypes);
    }

    public QmpOptions withConnectTimeout(Duration d) {
        return new QmpOptions(d, callTimeout, maxLineBytes, enableOob, subscriberQueue, eventTypes);
    }

    public QmpOptions withMaxLineBytes(int n) {
        return new QmpOptions(connectTimeout, callTimeout, n, enableOob, subscriberQueue, eventTypes);
    }

    public QmpOptions withOob(boolean on) {
        return new QmpOptions(connectTimeout, callTimeout, maxLineBytes, on, subscriberQueue, eventTypes);
    }
}
