package ferry.agent;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterException;
import ferry.cluster.ClusterStore;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The journals a node orchestrated (their first entry names it as the source): what its agent answers for. */
final class OwnJournals {
    private static final Logger log = LoggerFactory.getLogger(OwnJournals.class);

    private OwnJournals() {}

    /** The entries of each of {@code ids} that {@code node} orchestrated, in the given order; unreadable ones are logged and left out. */
    static Map<String, List<ObjectNode>> of(ClusterStore store, String node, Collection<String> ids) {
        Map<String, List<ObjectNode>> out = new LinkedHashMap<>();
        for (String id : ids) {
            List<ObjectNode> entries;
            try {
                entries = store.journal(id);
            } catch (ClusterException e) {
                log.warn("node '{}': cannot read the journal of task {}: {}", node, id, e.getMessage());
                continue;
            }
            if (!entries.isEmpty() && node.equals(entries.get(0).path("source").asText())) {
                out.put(id, entries);
            }
        }
        return out;
    }
}
