package ferry.node;

import java.nio.file.Path;

/**
 * A directory storage as one node sees it. A shared storage is the same folder on every node (so
 * a migration never copies its volumes); a local one is a folder of this node alone.
 */
public record Storage(String id, Path path, boolean shared) {
    /** The file of a volume; volume names are plain file names, checked by {@link VmDefinition#problems()}. */
    public Path volumePath(String volume) {
        if (volume.contains("/") || volume.startsWith(".")) {
            throw new NodeException("volume name '" + volume + "' on storage '" + id + "' must be a plain file name");
        }
        return path.resolve(volume);
    }
}
