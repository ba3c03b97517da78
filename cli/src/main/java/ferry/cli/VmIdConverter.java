package ferry.cli;

import picocli.CommandLine;

/** A VM id on the command line: the range the agents take, said in one line instead of Java's "not an int". */
final class VmIdConverter implements CommandLine.ITypeConverter<Integer> {
    static final int MIN = 100;
    static final int MAX = 999_999_999;

    @Override
    public Integer convert(String value) {
        int id;
        try {
            id = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            id = -1;
        }
        if (id < MIN || id > MAX) {
            throw new CommandLine.TypeConversionException("must be a whole number from " + MIN + " to " + MAX
                    + ", got '" + value + "'");
        }
        return id;
    }
}
