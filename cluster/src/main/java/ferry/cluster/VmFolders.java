package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.IO;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VM record files: {@code nodes/<owner>/vms/<vmid>.json}. The folder a file sits in is its
 * owner, so moving ownership is one rename. Callers hold the store lock and pass member names only.
 */
final class VmFolders {
    private static final Logger log = LoggerFactory.getLogger(VmFolders.class);
    private static final Pattern RECORD = Pattern.compile("[0-9]{1,10}\\.json");

    private final Path nodes;
    private final List<String> members;

    VmFolders(Path nodesFolder, List<String> members) {
        this.nodes = nodesFolder;
        this.members = List.copyOf(members);
    }

    Path file(String node, int vmid) {
        return folder(node).resolve(vmid + ".json");
    }

    /** Member nodes that have a record file for {@code vmid}, parseable or not. */
    List<String> holders(int vmid) {
        return members.stream().filter(n -> Files.exists(file(n, vmid))).toList();
    }

    VmRecord read(String node, int vmid) {
        Path file = file(node, vmid);
        try {
            return Json.record(vmid, node, Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ClusterException(IO, "cannot read VM " + vmid + " of node '" + node + "': " + file
                    + " is not a valid VM record (" + e.getMessage()
                    + "); repair the file by hand (it holds the VM's configuration) or remove it", e);
        }
    }

    void write(VmRecord r) throws IOException {
        AtomicFiles.write(file(r.owner(), r.vmid()), Json.record(r), null);
    }

    void move(int vmid, String from, String to) throws IOException {
        Path target = file(to, vmid);
        if (Files.exists(target)) {
            // rename(2) would replace it; the caller's checks make this unreachable
            throw new ClusterException(IO, "VM " + vmid + ": " + target + " already exists; refusing to overwrite it");
        }
        AtomicFiles.move(file(from, vmid), target);
    }

    void delete(String node, int vmid) throws IOException {
        AtomicFiles.delete(file(node, vmid));
    }

    /** The readable records of {@code node}, by vmid; unreadable ones are logged and left out. */
    List<VmRecord> list(String node) throws IOException {
        List<VmRecord> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(folder(node))) {
            for (Path f : (Iterable<Path>) files.sorted()::iterator) {
                String name = f.getFileName().toString();
                if (!RECORD.matcher(name).matches()) {
                    continue;
                }
                long vmid = Long.parseLong(name.substring(0, name.length() - ".json".length()));
                if (vmid < Names.MIN_VMID || vmid > Names.MAX_VMID) {
                    log.warn("ignoring {}: vmid out of range", f);
                    continue;
                }
                try {
                    out.add(read(node, (int) vmid));
                } catch (ClusterException e) {
                    log.warn("leaving VM {} out of the list: {}", vmid, e.getMessage());
                }
            }
        }
        out.sort(Comparator.comparingInt(VmRecord::vmid));
        return out;
    }

    /** Creates missing member folders and removes temp files of writers that crashed. */
    void prepare() throws IOException {
        for (String n : members) {
            Path folder = folder(n);
            AtomicFiles.createFolders(folder);
            removeTempFiles(folder);
        }
        try (Stream<Path> entries = Files.list(nodes)) {
            entries.map(p -> p.getFileName().toString())
                    .filter(n -> !members.contains(n))
                    .forEach(n -> log.warn("{} is not a member node of the cluster; VMs under it are ignored",
                            nodes.resolve(n)));
        }
    }

    static void removeTempFiles(Path folder) throws IOException {
        try (Stream<Path> entries = Files.list(folder)) {
            for (Path p : (Iterable<Path>) entries::iterator) {
                if (p.getFileName().toString().startsWith(AtomicFiles.TEMP_PREFIX)) {
                    log.info("removing {} left by a writer that crashed", p);
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private Path folder(String node) {
        return nodes.resolve(node).resolve("vms");
    }
}
