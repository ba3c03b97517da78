package ferry.qapi;

import java.util.List;
import java.util.stream.Collectors;

/** An {@code 'if'} condition on a definition, member or value; kept as metadata, never evaluated. */
public sealed interface Condition {
    record Config(String name) implements Condition {
        @Override public String toString() { return name; }
    }

    record All(List<Condition> of) implements Condition {
        @Override public String toString() { return of.stream().map(Object::toString).collect(Collectors.joining(" && ", "(", ")")); }
    }

    record Any(List<Condition> of) implements Condition {
        @Override public String toString() { return of.stream().map(Object::toString).collect(Collectors.joining(" || ", "(", ")")); }
    }

    record Not(Condition of) implements Condition {
        @Override public String toString() { return "!" + of; }
    }
}
