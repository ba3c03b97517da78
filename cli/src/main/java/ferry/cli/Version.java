package ferry.cli;

import picocli.CommandLine;

/** Prints Ferry's version from the jar manifest. */
final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new String[] {"ferry " + (v == null ? "(development build)" : v)};
    }
}
