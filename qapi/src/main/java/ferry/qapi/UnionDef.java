package ferry.qapi;

import java.util.List;

/**
 * A union: common members (from a named base struct, or written inline), one of which is the
 * enum-typed discriminator; each discriminator value selects a branch of extra members.
 */
public record UnionDef(String name, String doc, List<String> features, Condition condition, SourcePos pos,
                       String base, List<Member> inlineBase, String discriminator, List<Branch> branches)
        implements Definition {}
