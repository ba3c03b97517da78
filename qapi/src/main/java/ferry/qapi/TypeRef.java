package ferry.qapi;

/** A reference to a type by name, or to an array of it ({@code ['T']} in the schema). */
public record TypeRef(String name, boolean array) {
    public static TypeRef of(String name) {
        return new TypeRef(name, false);
    }

    @Override
    public String toString() {
        return array ? "['" + name + "']" : name;
    }
}
