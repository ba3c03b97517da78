package ferry.qapi;

import java.util.List;

/** A member of a struct, an argument of a command or event, or an alternative of an alternate. */
public record Member(String name, TypeRef type, boolean optional, List<String> features, Condition condition) {
    public boolean deprecated() {
        return features.contains("deprecated");
    }
}
