package ferry.qapi;

import java.util.List;

/** One value of an enum, with its wire spelling. */
public record EnumValue(String name, List<String> features, Condition condition) {}
