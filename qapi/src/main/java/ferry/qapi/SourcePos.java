package ferry.qapi;

/** Where a definition or token stands: schema file name and 1-based line. */
public record SourcePos(String file, int line) {
    @Override
    public String toString() {
        return file + ":" + line;
    }
}
