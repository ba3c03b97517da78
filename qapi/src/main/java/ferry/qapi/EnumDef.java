package ferry.qapi;

import java.util.List;

/** An enum; values keep their wire spelling. */
public record EnumDef(String name, String doc, List<String> features, Condition condition, SourcePos pos,
                      List<EnumValue> values, String prefix) implements Definition {
    public boolean hasValue(String wire) {
        return values.stream().anyMatch(v -> v.name().equals(wire));
    }
}
