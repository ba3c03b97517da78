package ferry.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.qapi.QapiEvent;
import ferry.qapi.QapiJson;
import ferry.qapi.Timestamp;
import java.util.Map;

/** One event as received: name, QEMU's timestamp, its data, the raw JSON, and a typed view. */
public record QmpEventMessage(String name, Timestamp timestamp, JsonNode data, ObjectNode raw,
                              Map<String, Class<? extends QapiEvent>> types) {
    /** The event decoded to its generated record, or null when this binding does not know the name. */
    public QapiEvent typed() {
        Class<? extends QapiEvent> type = types.get(name);
        if (type == null) {
            return null;
        }
        ObjectNode fields = data instanceof ObjectNode o ? o.deepCopy() : QapiJson.mapper().createObjectNode();
        fields.set("timestamp", raw.get("timestamp"));
        try {
            return QapiJson.mapper().treeToValue(fields, type);
        } catch (Exception e) {
            throw new QmpException("cannot decode event " + name + " " + data + ": " + e.getMessage(), e);
        }
    }

    /** The typed event if it is of that type, else null. */
    public <E extends QapiEvent> E as(Class<E> type) {
        QapiEvent e = typed();
        return type.isInstance(e) ? type.cast(e) : null;
    }

    @Override
    public String toString() {
        return name + " " + data;
    }
}
