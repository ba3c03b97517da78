package ferry.qapi;

import java.util.List;

/** A struct: its own members, after those of its base struct (if any). */
public record StructDef(String name, String doc, List<String> features, Condition condition, SourcePos pos,
                        String base, List<Member> members) implements Definition {}
