package ferry.qapi;

import java.util.List;

/** A top-level definition of a schema. */
public sealed interface Definition
        permits StructDef, EnumDef, UnionDef, AlternateDef, CommandDef, EventDef {
    String name();

    /** Our one-line description, from the doc block before the definition (may be empty). */
    String doc();

    List<String> features();

    /** The {@code 'if'} condition, or null. */
    Condition condition();

    SourcePos pos();

    default boolean deprecated() {
        return features().contains("deprecated");
    }
}
