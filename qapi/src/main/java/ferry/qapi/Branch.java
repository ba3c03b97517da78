package ferry.qapi;

/** One branch of a union: the discriminator value and the type of its extra members (null when empty). */
public record Branch(String name, TypeRef type, Condition condition) {}
