package ferry.qapi;

import java.lang.reflect.Type;
import java.util.List;

/**
 * A QMP command's descriptor, generated from the schema: wire name, argument type ({@code Void}
 * when it takes none), return type ({@code Void} for an empty reply), and protocol flags.
 */
public record Command<A, R>(String name, Class<A> argType, Type returnType, boolean allowOob,
                            boolean successResponse, List<String> features) {
    public boolean takesArguments() {
        return argType != Void.class;
    }

    public boolean deprecated() {
        return features.contains("deprecated");
    }
}
