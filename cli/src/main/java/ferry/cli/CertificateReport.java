package ferry.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import ferry.cluster.pki.ClusterPki;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;

/** The cluster's certificates and when they expire, as {@code cluster status} and {@code doctor} show them. */
final class CertificateReport {
    /** Fewer days left than this is worth a warning: time to rotate. */
    static final long SOON_DAYS = 30;

    private CertificateReport() {}

    static ArrayNode json(ClusterPki pki, Instant now) {
        ArrayNode out = JsonNodeFactory.instance.arrayNode();
        for (ClusterPki.CertificateState s : pki.states()) {
            out.addObject().put("who", s.who()).put("file", s.file().toString()).put("not_after", s.notAfter().toString())
                    .put("days_left", s.daysLeft(now)).put("expired", s.expired(now));
        }
        return out;
    }

    /** One line per certificate; a line for a cluster without any. Returns how many are expired. */
    static int print(ClusterPki pki, Instant now, PrintWriter out) {
        List<ClusterPki.CertificateState> states = pki.states();
        if (states.isEmpty()) {
            out.printf("  certificates: none in %s (a cluster made before TLS: agents cannot start; create it again)%n",
                    pki.folder());
            return 1;
        }
        int expired = 0;
        for (ClusterPki.CertificateState s : states) {
            String state;
            if (s.expired(now)) {
                expired++;
                state = "EXPIRED " + s.notAfter() + (s.who().equals("ca")
                        ? "; a CA is not renewed in place: create the cluster again"
                        : "; renew with 'ferry cluster rotate-certs'");
            } else {
                state = "valid until " + s.notAfter() + " (" + s.daysLeft(now) + " days left"
                        + (s.daysLeft(now) < SOON_DAYS ? "; renew soon with 'ferry cluster rotate-certs'" : "") + ")";
            }
            out.printf("  certificate %-12s %s%n", s.who(), state);
        }
        return expired;
    }
}
