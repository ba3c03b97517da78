package ferry.qapi;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Checks what a single definition cannot: that names resolve and unions are well formed. */
final class SchemaChecker {
    private final Schema schema;

    SchemaChecker(Schema schema) {
        this.schema = schema;
    }

    void check() {
        for (Definition d : schema.definitions()) {
            switch (d) {
                case StructDef s -> {
                    bases(s);
                    members(s.members(), s.pos(), "struct '" + s.name() + "'");
                    unique(schema.allMembers(s), s.pos(), "struct '" + s.name() + "'");
                }
                case EnumDef e -> {
                    Set<String> seen = new HashSet<>();
                    for (EnumValue v : e.values()) {
                        if (!seen.add(v.name())) {
                            throw new SchemaException(e.pos(), "enum '" + e.name() + "' lists '" + v.name() + "' twice");
                        }
                    }
                }
                case UnionDef u -> union(u);
                case AlternateDef a -> {
                    if (a.alternatives().isEmpty()) {
                        throw new SchemaException(a.pos(), "alternate '" + a.name() + "' has no alternatives");
                    }
                    members(a.alternatives(), a.pos(), "alternate '" + a.name() + "'");
                }
                case CommandDef c -> {
                    args(c.argsType(), c.inlineArgs(), c.boxed(), c.pos(), "command '" + c.name() + "'");
                    if (c.returns() != null) {
                        type(c.returns(), c.pos(), "return type of command '" + c.name() + "'");
                    }
                }
                case EventDef ev -> args(ev.argsType(), ev.inlineArgs(), ev.boxed(), ev.pos(), "event '" + ev.name() + "'");
            }
        }
    }

    private void union(UnionDef u) {
        String what = "union '" + u.name() + "'";
        if (u.base() != null) {
            expectKind(u.base(), StructDef.class, u.pos(), "base of " + what);
            bases((StructDef) schema.get(u.base()));
        } else {
            members(u.inlineBase(), u.pos(), what);
        }
        Member disc = schema.baseMembers(u).stream().filter(m -> m.name().equals(u.discriminator())).findFirst()
                .orElseThrow(() -> new SchemaException(u.pos(), "discriminator '" + u.discriminator()
                        + "' of " + what + " is not a member of its base"));
        if (disc.optional() || disc.type().array() || !(schema.get(disc.type().name()) instanceof EnumDef tag)) {
            throw new SchemaException(u.pos(), "discriminator '" + u.discriminator() + "' of " + what
                    + " must be a required member of enum type");
        }
        for (Branch b : u.branches()) {
            if (!tag.hasValue(b.name())) {
                throw new SchemaException(u.pos(), "branch '" + b.name() + "' of " + what + " is not a value of enum '"
                        + tag.name() + "'");
            }
            if (b.type().array() || !(schema.get(b.type().name()) instanceof StructDef
                    || schema.get(b.type().name()) instanceof UnionDef)) {
                throw new SchemaException(u.pos(), "branch '" + b.name() + "' of " + what
                        + " must name a struct or union, found '" + b.type() + "'");
            }
        }
    }

    /** Checks that a struct's bases, and theirs, are structs and do not lead back to it. */
    private void bases(StructDef s) {
        List<String> chain = new ArrayList<>(List.of(s.name()));
        for (StructDef at = s; at.base() != null; at = (StructDef) schema.get(at.base())) {
            expectKind(at.base(), StructDef.class, at.pos(), "base of struct '" + at.name() + "'");
            if (chain.contains(at.base())) {
                throw new SchemaException(s.pos(), "struct '" + s.name() + "' has a base loop: "
                        + String.join(" -> ", chain) + " -> " + at.base());
            }
            chain.add(at.base());
        }
    }

    private void args(String argsType, List<Member> inline, boolean boxed, SourcePos pos, String what) {
        if (argsType != null) {
            Definition d = schema.get(argsType);
            if (!(d instanceof StructDef) && !(boxed && d instanceof UnionDef)) {
                throw new SchemaException(pos, "data of " + what + " must name a struct"
                        + (boxed ? " or union" : "") + ", found '" + argsType + "'");
            }
        } else {
            if (boxed) {
                throw new SchemaException(pos, what + " is 'boxed' but its data is not a type name");
            }
            members(inline, pos, what);
        }
    }

    private void members(List<Member> members, SourcePos pos, String what) {
        for (Member m : members) {
            type(m.type(), pos, "member '" + m.name() + "' of " + what);
        }
        unique(members, pos, what);
    }

    private static void unique(List<Member> members, SourcePos pos, String what) {
        Set<String> seen = new HashSet<>();
        for (Member m : members) {
            if (!seen.add(m.name())) {
                throw new SchemaException(pos, what + " has member '" + m.name() + "' twice");
            }
        }
    }

    private void type(TypeRef t, SourcePos pos, String what) {
        if (!Schema.BUILTINS.contains(t.name()) && schema.get(t.name()) == null) {
            throw new SchemaException(pos, what + " uses undefined type '" + t.name() + "'");
        }
        if (schema.get(t.name()) instanceof CommandDef || schema.get(t.name()) instanceof EventDef) {
            throw new SchemaException(pos, what + " uses '" + t.name() + "', which is not a type");
        }
    }

    private void expectKind(String name, Class<? extends Definition> kind, SourcePos pos, String what) {
        if (!kind.isInstance(schema.get(name))) {
            throw new SchemaException(pos, what + " must name a " + kind.getSimpleName().replace("Def", "").toLowerCase()
                    + ", found '" + name + "'");
        }
    }
}
