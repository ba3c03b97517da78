package ferry.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Option;

/** {@code --policy NAME}: how a migration is made to converge ({@code ferry migrate}, {@code ferry node evacuate}). */
final class PolicyOption {
    @Option(names = "--policy", paramLabel = "NAME", description = {"How to make the migration converge (default: the VM's, else budget): budget        keep "
                + "--max-downtime: raise QEMU's limit within it, then escalate to what --allow-* permits "
                + "(throttle, postcopy, pause), else abort with the reason; classic       Proxmox's: double the "
                + "downtime when stalled (from --downtime, 100 ms), xbzrle and auto-converge on; qemu-default  "
                + "QEMU's defaults, only --bwlimit applied (what virsh migrate --live does); kubevirt      an "
                + "emulation of KubeVirt's defaults: pre-copy at QEMU's downtime, aborted after 150 s per GB of "
                + "RAM or 150 s without progress; ovirt         an emulation of oVirt's \"Minimal downtime\": "
                + "auto-converge, downtime 100 ms raised to 150-500 ms as the passes go by (VDSM looks every 10 "
                + "s), then aborted."})
    String name;

    /** Adds {@code policy} to an agent request when one was given. */
    ObjectNode putInto(ObjectNode req) {
        return name == null ? req : req.put("policy", name);
    }
}
