package ferry.node;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A VM as Ferry keeps it: what QEMU needs to run it on any node. Stored as JSON in the cluster
 * records; the machine type and CPU model are pinned so a migration target starts the same
 * virtual hardware.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VmDefinition(int vmid, String name, @JsonProperty("memory") int memoryMiB, int vcpus, String machine,
                           String cpu, Boot boot, List<Disk> disks, Accel accel, Migration migration) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9.-]{0,62}");
    private static final Pattern VOLUME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    /** How the guest boots: a kernel (with initrd and command line) or the first disk. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Boot(String kernel, String initrd, String append) {}

    /** A disk: a volume on a storage, its format and the bus it is attached to. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Disk(String storage, String volume, String format, String bus) {}

    public enum Accel {
        @JsonProperty("tcg") TCG,
        @JsonProperty("kvm") KVM,
        /** KVM when this host's /dev/kvm opens, else TCG. */
        @JsonProperty("auto") AUTO
    }

    /** Per-VM migration defaults; a migrate call may override them. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    /**
     * Migration defaults of this VM; each is overridden by the request.
     *
     * @param policy the convergence policy to use when the request names none
     */
    public record Migration(@JsonProperty("downtime-ms") Integer downtimeMs, @JsonProperty("speed-mib") Integer speedMiBps,
                            @JsonProperty("policy") String policy) {}

    public VmDefinition {
        disks = disks == null ? List.of() : List.copyOf(disks);
        machine = machine == null ? "pc" : machine;
        cpu = cpu == null ? "qemu64" : cpu;
        accel = accel == null ? Accel.TCG : accel;
        vcpus = vcpus == 0 ? 1 : vcpus;
    }

    /** Everything wrong with this definition, in words; empty when it is valid. */
    public List<String> problems() {
        List<String> out = new ArrayList<>();
        if (vmid < 100 || vmid > 999_999_999) {
            out.add("vmid must be between 100 and 999999999, got " + vmid);
        }
        if (name == null || !NAME.matcher(name).matches()) {
            out.add("name must be 1-63 letters, digits, dots or dashes, got '" + name + "'");
        }
        if (memoryMiB < 16 || memoryMiB > 4 * 1024 * 1024) {
            out.add("memory must be 16 MiB to 4 TiB, got " + memoryMiB);
        }
        if (vcpus < 1 || vcpus > 512) {
            out.add("vcpus must be 1-512, got " + vcpus);
        }
        if (boot != null && boot.kernel() == null && (boot.initrd() != null || boot.append() != null)) {
            out.add("boot: initrd and append need a kernel");
        }
        if ((boot == null || boot.kernel() == null) && disks.isEmpty()) {
            out.add("nothing to boot: give boot.kernel or at least one disk");
        }
        for (Disk d : disks) {
            if (d.storage() == null || d.volume() == null || !VOLUME.matcher(d.volume()).matches()) {
                out.add("disk needs a storage and a plain volume name (no '/'), got " + d);
            } else if (!d.volume().startsWith("vm-" + vmid + "-")) {
                out.add("volume '" + d.volume() + "' does not belong to VM " + vmid + " (its name must start with 'vm-"
                        + vmid + "-')");
            }
            if (d.format() != null && !List.of("raw", "qcow2").contains(d.format())) {
                out.add("disk format must be raw or qcow2, got '" + d.format() + "'");
            }
            if (d.bus() != null && !List.of("ide", "virtio").contains(d.bus())) {
                out.add("disk bus must be ide or virtio, got '" + d.bus() + "'");
            }
        }
        return out;
    }
}
