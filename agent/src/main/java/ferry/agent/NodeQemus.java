package ferry.agent;

import ferry.cluster.NodeInfo;
import ferry.cluster.NodeQemu;
import ferry.node.QemuBinary;
import java.nio.file.Path;

/** The QEMU a node of the cluster runs its VMs with: its configured installation, else the installed one. */
public final class NodeQemus {
    private NodeQemus() {}

    public static QemuBinary of(NodeInfo node) {
        NodeQemu q = node.qemu();
        if (q == null) {
            return QemuBinary.find();
        }
        try {
            return QemuBinary.of(Path.of(q.binary()), q.moduleDir() == null ? null : Path.of(q.moduleDir()),
                    q.dataDirs().stream().map(Path::of).toList());
        } catch (ferry.node.NodeException e) {
            throw new ferry.node.NodeException("node '" + node.name() + "': " + e.getMessage(), e);
        }
    }

    /** How the cluster's config records {@code q} as a node's own installation. */
    public static NodeQemu config(QemuBinary q) {
        return new NodeQemu(q.path().toString(), q.moduleDir() == null ? null : q.moduleDir().toString(),
                q.dataDirs().stream().map(Path::toString).toList());
    }
}
