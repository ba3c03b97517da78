package ferry.node;

/**
 * A volume that is to be created or received is already on its storage: nothing was written
 * (an agent answers 409). Usually a copy left by an earlier migration that failed half-way.
 */
public final class VolumeExists extends NodeException {
    /** @param node the node whose storage holds it, or null when not known here */
    public VolumeExists(String storage, String volume, String node) {
        super("volume '" + volume + "' already exists on storage '" + storage + "'"
                + (node == null ? "" : " of node '" + node + "'") + "; nothing was written. If no VM uses it (a copy "
                + "left by an earlier migration), remove it"
                + (node == null ? "" : " (DELETE /api/v1/storage/" + storage + "/volumes/" + volume + " on node '"
                        + node + "')") + " and try again; otherwise choose another volume name or target storage");
    }
}
