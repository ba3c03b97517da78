package ferry.qapi;

import java.util.List;

/** An event; its data is written inline or names a struct. */
public record EventDef(String name, String doc, List<String> features, Condition condition, SourcePos pos,
                       String argsType, List<Member> inlineArgs, boolean boxed) implements Definition {}
