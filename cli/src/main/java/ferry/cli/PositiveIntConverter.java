package ferry.cli;

import picocli.CommandLine;

/**
 * A count, size or time that must be above zero, refused on the command line under the option's
 * own name (the agent would refuse it too, but under its JSON field's name).
 */
final class PositiveIntConverter implements CommandLine.ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
        try {
            int v = Integer.parseInt(value.trim());
            if (v > 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new CommandLine.TypeConversionException("must be a whole number above zero, got '" + value + "'");
    }
}
