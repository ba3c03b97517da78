package ferry.qapi;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.util.Iterator;
import java.util.Map;

/**
 * Writes a union branch record flat: discriminator, common members, then the members of the
 * branch value. Writes an alternate branch as its bare value.
 */
public final class UnionSerializer extends JsonSerializer<Object> {
    @Override
    public void serialize(Object value, JsonGenerator gen, SerializerProvider provider) throws IOException {
        ObjectMapper mapper = gen.getCodec() instanceof ObjectMapper m ? m : QapiJson.mapper();
        Class<?> branch = value.getClass();
        QapiBranch tag = branch.getAnnotation(QapiBranch.class);
        if (tag == null) {
            throw new IllegalArgumentException(branch + " is not a generated union or alternate branch");
        }
        RecordComponent[] parts = branch.getRecordComponents();
        if (UnionDeserializer.unionOf(branch) == null) { // an alternate
            if (parts.length == 0) {
                gen.writeNull();
            } else {
                mapper.writeValue(gen, Records.get(parts[0], value));
            }
            return;
        }
        ObjectNode out = mapper.createObjectNode();
        out.put(UnionDeserializer.unionOf(branch).getAnnotation(QapiUnion.class).discriminator(), tag.value());
        for (RecordComponent c : parts) {
            Object v = Records.get(c, value);
            if (v == null) {
                continue;
            }
            JsonNode node = mapper.valueToTree(v);
            if (c.getName().equals("value") && node instanceof ObjectNode fields) {
                for (Iterator<Map.Entry<String, JsonNode>> it = fields.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (!out.has(e.getKey()) && !e.getValue().isNull()) {
                        out.set(e.getKey(), e.getValue());
                    }
                }
            } else {
                out.set(Records.wireName(c), node);
            }
        }
        mapper.writeTree(gen, out);
    }
}
