package ferry.qmp;

import java.util.List;

/** What QEMU says first: its version and the QMP capabilities it offers (e.g. {@code oob}). */
public record QmpGreeting(int major, int minor, int micro, String packageName, List<String> capabilities) {
    public String version() {
        return major + "." + minor + "." + micro;
    }

    /** True when this QEMU is at least major.minor. */
    public boolean atLeast(int wantMajor, int wantMinor) {
        return major > wantMajor || major == wantMajor && minor >= wantMinor;
    }
}
