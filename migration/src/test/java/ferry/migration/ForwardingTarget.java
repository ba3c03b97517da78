package ferry.migration;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.node.VmDefinition;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** A target that passes every call to a real one; tests override the calls they break or watch. */
abstract class ForwardingTarget implements TargetNode {
    final TargetNode real;

    ForwardingTarget(TargetNode real) {
        this.real = real;
    }

    @Override public String name() { return real.name(); }
    @Override public Info probe() { return real.probe(); }
    @Override public QemuOffer qemuOffer() { return real.qemuOffer(); }
    @Override public QemuState state(int vmid) { return real.state(vmid); }
    @Override public Endpoint startIncoming(VmDefinition vm, Set<String> caps, ObjectNode params, String source,
                                            boolean tls) {
        return real.startIncoming(vm, caps, params, source, tls);
    }
    @Override public Endpoint recover(int vmid) { return real.recover(vmid); }
    @Override public Endpoint probeSink() { return real.probeSink(); }
    @Override public void resume(int vmid) { real.resume(vmid); }
    @Override public void stop(int vmid) { real.stop(vmid); }
    @Override public void receiveVolume(VmDefinition.Disk d, Path f, Integer b) { real.receiveVolume(d, f, b); }
    @Override public List<String> freeVolumes(List<VmDefinition.Disk> d) { return real.freeVolumes(d); }
    @Override public java.util.Map<String, StorageInfo> storages() { return real.storages(); }
    @Override public void createVolume(VmDefinition.Disk d, long size) { real.createVolume(d, size); }
    @Override public Endpoint exportDisks(int vmid, List<String> drives) { return real.exportDisks(vmid, drives); }
}
