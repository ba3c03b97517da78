package ferry.qapi;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.BeanProperty;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.deser.ContextualDeserializer;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;

/**
 * Reads a union (the branch is chosen by the discriminator member) or an alternate (the branch is
 * chosen by the JSON type of the value) into the generated branch record.
 */
public final class UnionDeserializer extends JsonDeserializer<Object> implements ContextualDeserializer {
    private final JavaType type;

    public UnionDeserializer() {
        this(null);
    }

    private UnionDeserializer(JavaType type) {
        this.type = type;
    }

    @Override
    public JsonDeserializer<?> createContextual(DeserializationContext ctxt, BeanProperty property) {
        JavaType t = ctxt.getContextualType() != null ? ctxt.getContextualType() : property.getType();
        while (t.isContainerType()) {
            t = t.getContentType();
        }
        return new UnionDeserializer(t);
    }

    @Override
    public Object deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
        JsonNode node = p.readValueAsTree();
        return read(node, ctxt);
    }

    @Override
    public Object getNullValue(DeserializationContext ctxt) {
        // JSON null is a legitimate alternate value (e.g. StrOrNull)
        try {
            return type != null && type.getRawClass().getAnnotation(QapiUnion.class) == null ? read(null, ctxt) : null;
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public Object getAbsentValue(DeserializationContext ctxt) {
        // an absent member is not a JSON null: absent means "leave as is", StrOrNull's null means "reset"
        return null;
    }

    private Object read(JsonNode node, DeserializationContext ctxt) throws IOException {
        Class<?> raw = type.getRawClass();
        QapiUnion union = raw.getAnnotation(QapiUnion.class);
        return union != null ? readUnion(raw, union, node, ctxt) : readAlternate(raw, node, ctxt);
    }

    private Object readUnion(Class<?> raw, QapiUnion union, JsonNode node, DeserializationContext ctxt)
            throws IOException {
        JsonNode tag = node == null ? null : node.get(union.discriminator());
        if (tag == null || !tag.isTextual()) {
            return ctxt.reportInputMismatch(type, "%s: member '%s' is missing; it says which branch the object is",
                    raw.getSimpleName(), union.discriminator());
        }
        for (Class<?> branch : raw.getPermittedSubclasses()) {
            if (branch.getAnnotation(QapiBranch.class).value().equals(tag.asText())) {
                RecordComponent[] parts = branch.getRecordComponents();
                Object[] args = new Object[parts.length];
                for (int i = 0; i < parts.length; i++) {
                    JsonNode v = parts[i].getName().equals("value") ? node : node.get(Records.wireName(parts[i]));
                    args[i] = convert(v, parts[i], ctxt);
                }
                return Records.construct(branch, args);
            }
        }
        return ctxt.reportInputMismatch(type, "%s: unknown %s '%s' (known: %s)", raw.getSimpleName(),
                union.discriminator(), tag.asText(), Arrays.stream(raw.getPermittedSubclasses())
                        .map(b -> b.getAnnotation(QapiBranch.class).value()).toList());
    }

    private Object readAlternate(Class<?> raw, JsonNode node, DeserializationContext ctxt) throws IOException {
        for (Class<?> branch : raw.getPermittedSubclasses()) {
            RecordComponent[] parts = branch.getRecordComponents();
            if (parts.length == 0 ? node == null || node.isNull() : JsonKind.accepts(parts[0].getType(), node)) {
                return Records.construct(branch, parts.length == 0 ? new Object[0]
                        : new Object[] {convert(node, parts[0], ctxt)});
            }
        }
        return ctxt.reportInputMismatch(type, "%s: no alternative takes a JSON %s", raw.getSimpleName(),
                node == null ? "null" : node.getNodeType().name().toLowerCase());
    }

    private static Object convert(JsonNode v, RecordComponent c, DeserializationContext ctxt) throws IOException {
        if (v == null || v.isNull() && c.getType() != JsonNode.class) {
            return JsonKind.absent(c.getType());
        }
        return ctxt.readTreeAsValue(v, ctxt.constructType(c.getGenericType()));
    }

    /** The union interface a branch record belongs to, or null for an alternate's branch. */
    static Class<?> unionOf(Class<?> branch) {
        for (Class<?> i : branch.getInterfaces()) {
            if (i.getAnnotation(QapiUnion.class) != null) {
                return i;
            }
        }
        return null;
    }
}
