package ferry.qapi;

import java.util.List;

/**
 * A command. Its arguments are either written inline ({@code inlineArgs}) or name a struct or
 * union ({@code argsType}); {@code returns} is null when the command returns an empty object.
 */
public record CommandDef(String name, String doc, List<String> features, Condition condition, SourcePos pos,
                         String argsType, List<Member> inlineArgs, boolean boxed, TypeRef returns,
                         boolean allowOob, boolean successResponse, boolean gen, boolean allowPreconfig,
                         boolean coroutine) implements Definition {}
