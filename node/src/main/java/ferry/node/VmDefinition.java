package ferry.node;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A VM as Ferry keeps it: what QEMU needs to run it on any node. Stored as JSON in the cluster
 * records; the machine type and CPU model are pinned so a migration target starts the same
 * virtual hardware. A field it does not know is refused, not dropped (a typo would otherwise
 * leave a default in place unnoticed).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VmDefinition(int vmid, String name, @JsonProperty("memory") int memoryMiB, int vcpus, String machine,
                           String cpu, Boot boot, List<Disk> disks, Accel accel, Migration migration) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9.-]{0,62}");
    private static final Pattern VOLUME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    /** How the guest boots: a kernel (with initrd and command line) or the first disk. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Boot(String kernel, String initrd, String append) {}

    /**
     * A disk: a volume on a storage, its format, the bus it is attached to, and how QEMU opens it.
     *
     * @param cache QEMU's cache mode; null means {@code none} (O_DIRECT, as Proxmox defaults): the
     *              only modes that keep no dirty data in this host's page cache, so a disk on
     *              shared storage can be taken over by another host mid-flight
     * @param aio   QEMU's I/O engine (threads, native, io_uring); null leaves QEMU's choice
     * @param media {@code disk} (default) or {@code cdrom} (attached read-only)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Disk(String storage, String volume, String format, String bus, String cache, String aio,
                       String media) {
        public static final List<String> BUSES = List.of("ide", "virtio", "scsi");
        public static final List<String> CACHES = List.of("none", "directsync", "writethrough", "writeback", "unsafe");
        public static final List<String> AIOS = List.of("threads", "native", "io_uring");

        public Disk(String storage, String volume, String format, String bus) {
            this(storage, volume, format, bus, null, null, null);
        }

        /** The cache mode QEMU runs it with. */
        public String cacheMode() {
            return cache == null ? "none" : cache;
        }

        /** Whether QEMU opens it with O_DIRECT (bypassing the host's page cache). */
        public boolean direct() {
            return cacheMode().equals("none") || cacheMode().equals("directsync");
        }

        public boolean cdrom() {
            return "cdrom".equals(media);
        }

        /** A cdrom drive without a medium (no storage, no volume). */
        public boolean emptyDrive() {
            return cdrom() && storage == null && volume == null;
        }

        /** The same drive with its medium taken out: what a migration with --force leaves of a local cdrom. */
        public Disk ejected() {
            return new Disk(null, null, null, bus, null, null, "cdrom");
        }

        public String formatOrRaw() {
            return format == null ? "raw" : format;
        }

        /** The same disk on another storage (a migration's target storage). */
        public Disk on(String otherStorage) {
            return new Disk(otherStorage, volume, format, bus, cache, aio, media);
        }
    }

    public enum Accel {
        @JsonProperty("tcg") TCG,
        @JsonProperty("kvm") KVM,
        /** KVM when this host's /dev/kvm opens, else TCG. */
        @JsonProperty("auto") AUTO
    }

    /**
     * Migration defaults of this VM; each is overridden by the request. Records written before the
     * API spoke snake_case hold {@code downtime-ms} and {@code speed-mib}: still read.
     *
     * @param policy the convergence policy to use when the request names none
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Migration(@JsonProperty("downtime_ms") @JsonAlias("downtime-ms") Integer downtimeMs,
                            @JsonProperty("speed_mib") @JsonAlias("speed-mib") Integer speedMiBps,
                            @JsonProperty("policy") String policy) {}

    public VmDefinition {
        disks = disks == null ? List.of() : List.copyOf(disks);
        machine = machine == null ? "pc" : machine;
        cpu = cpu == null ? "qemu64" : cpu;
        accel = accel == null ? Accel.TCG : accel;
    }

    /**
     * Reads a definition kept in a VM record. Records written by another version of Ferry may hold
     * fields this one does not know: they are skipped here (what people send is checked strictly).
     */
    public static VmDefinition fromRecord(JsonNode config) throws JsonProcessingException {
        return RECORDS.treeToValue(config, VmDefinition.class);
    }

    private static final ObjectReader RECORDS = new ObjectMapper().readerFor(VmDefinition.class)
            .without(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** Whether {@code volume} is a plain file name a storage may hold (no path, no "..", no hidden file). */
    public static boolean plainVolume(String volume) {
        return volume != null && VOLUME.matcher(volume).matches() && !volume.contains("..");
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
            if (d.emptyDrive()) {
                if ("virtio".equals(d.bus())) {
                    out.add("an empty cdrom drive needs bus ide or scsi");
                }
                continue;
            }
            if (d.storage() == null || !plainVolume(d.volume())) {
                out.add("disk needs a storage and a plain volume name (no '/'), got " + d);
            } else if (!d.volume().startsWith("vm-" + vmid + "-")) {
                out.add("volume '" + d.volume() + "' does not belong to VM " + vmid + " (its name must start with 'vm-"
                        + vmid + "-')");
            }
            if (d.format() != null && !List.of("raw", "qcow2").contains(d.format())) {
                out.add("disk format must be raw or qcow2, got '" + d.format() + "'");
            }
            if (d.bus() != null && !Disk.BUSES.contains(d.bus())) {
                out.add("disk bus must be ide, virtio or scsi, got '" + d.bus() + "'");
            }
            if (d.cache() != null && !Disk.CACHES.contains(d.cache())) {
                out.add("disk cache must be one of " + String.join(", ", Disk.CACHES) + ", got '" + d.cache() + "'");
            }
            if (d.aio() != null && !Disk.AIOS.contains(d.aio())) {
                out.add("disk aio must be one of " + String.join(", ", Disk.AIOS) + ", got '" + d.aio() + "'");
            } else if ("native".equals(d.aio()) && !d.direct()) {
                // QEMU refuses it: Linux native AIO is only asynchronous with O_DIRECT
                out.add("disk '" + d.volume() + "': aio native needs cache none or directsync, got cache '"
                        + d.cacheMode() + "'");
            }
            if (d.media() != null && !List.of("disk", "cdrom").contains(d.media())) {
                out.add("disk media must be disk or cdrom, got '" + d.media() + "'");
            } else if (d.cdrom() && "virtio".equals(d.bus())) {
                out.add("cdrom '" + d.volume() + "' needs bus ide or scsi (virtio-blk has no cdrom)");
            }
        }
        return out;
    }
}
