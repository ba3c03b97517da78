package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.INVALID;

import java.util.List;

/**
 * The QEMU installation a node starts its VMs with when it is not the one installed on its host
 * (e.g. Debian's QEMU 7.2 unpacked into a folder beside 10.0 during an upgrade).
 *
 * @param binary    the system emulator, an absolute path
 * @param moduleDir where its loadable modules are (QEMU_MODULE_DIR, for that QEMU only); null: its built-in folder
 * @param dataDirs  its firmware and data folders, searched first ({@code -L}); empty: its built-in ones
 */
public record NodeQemu(String binary, String moduleDir, List<String> dataDirs) {
    public NodeQemu {
        dataDirs = dataDirs == null ? List.of() : List.copyOf(dataDirs);
        absolute("binary", binary);
        if (moduleDir != null) {
            absolute("module folder", moduleDir);
        }
        for (String d : dataDirs) {
            absolute("data folder", d);
        }
    }

    private static void absolute(String what, String path) {
        if (path == null || !path.startsWith("/")) {
            throw new ClusterException(INVALID, "QEMU " + what + " '" + path + "' is not an absolute path");
        }
    }
}
