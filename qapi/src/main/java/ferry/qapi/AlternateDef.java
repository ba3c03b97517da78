package ferry.qapi;

import java.util.List;

/** An alternate: a value that is one of several types, told apart by its JSON type. */
public record AlternateDef(String name, String doc, List<String> features, Condition condition, SourcePos pos,
                           List<Member> alternatives) implements Definition {}
