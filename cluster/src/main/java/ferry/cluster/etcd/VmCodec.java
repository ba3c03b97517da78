package ferry.cluster.etcd;

import ferry.cluster.Json;
import ferry.cluster.VmRecord;
import java.io.IOException;

/** A VM record as one etcd value: the record file's JSON plus its owner. */
final class VmCodec {
    private VmCodec() {}

    static byte[] encode(VmRecord r) throws IOException {
        var o = Json.object(Json.record(r));
        o.put("owner", r.owner());
        return Json.line(o);
    }

    static VmRecord decode(int vmid, byte[] bytes) throws IOException {
        var o = Json.object(bytes);
        if (!o.path("owner").isTextual()) {
            throw new IOException("\"owner\" is missing or not a string");
        }
        String owner = o.remove("owner").asText();
        return Json.record(vmid, owner, Json.line(o));
    }
}
