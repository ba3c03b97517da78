package ferry.node;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

/** Whether this host's /dev/kvm can be opened; QEMU's own answer comes from query-kvm. */
public final class Kvm {
    public static final Path DEVICE = Path.of("/dev/kvm");

    public enum DeviceState { ABSENT, NO_PERMISSION, USABLE }

    private Kvm() {}

    public static DeviceState device() {
        if (!Files.exists(DEVICE)) {
            return DeviceState.ABSENT;
        }
        try (RandomAccessFile f = new RandomAccessFile(DEVICE.toFile(), "rw")) {
            return DeviceState.USABLE;
        } catch (IOException e) {
            return DeviceState.NO_PERMISSION;
        }
    }
}
