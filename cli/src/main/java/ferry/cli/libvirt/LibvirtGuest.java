package ferry.cli.libvirt;

import java.nio.file.Path;
import java.util.UUID;

/**
 * The domain XML of a kernel-booted guest under TCG, shaped like the QEMU Ferry starts for the same
 * guest: machine {@code pc}, one vCPU, no devices but a serial console written to a file (no
 * disk, network, balloon or USB). The target gets the same XML with its own console file, so each
 * side's console can be read apart.
 */
public record LibvirtGuest(String name, UUID uuid, int memoryMiB, String kernel, String initrd, String cmdline) {

    public String xml(Path console) {
        return "<domain type='qemu'>\n"
                + "  <name>" + esc(name) + "</name>\n"
                + "  <uuid>" + uuid + "</uuid>\n"
                + "  <memory unit='MiB'>" + memoryMiB + "</memory>\n"
                + "  <vcpu>1</vcpu>\n"
                + "  <os>\n"
                + "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                + "    <kernel>" + esc(kernel) + "</kernel>\n"
                + "    <initrd>" + esc(initrd) + "</initrd>\n"
                + "    <cmdline>" + esc(cmdline) + "</cmdline>\n"
                + "  </os>\n"
                + "  <on_reboot>destroy</on_reboot>\n"
                + "  <devices>\n"
                + "    <serial type='file'><source path='" + esc(console.toString()) + "'/><target port='0'/></serial>\n"
                + "    <memballoon model='none'/>\n"
                + "    <controller type='usb' model='none'/>\n"
                + "  </devices>\n"
                + "</domain>\n";
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")
                .replace("\"", "&quot;");
    }
}
