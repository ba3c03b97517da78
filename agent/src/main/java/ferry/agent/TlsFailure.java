package ferry.agent;

import java.io.IOException;
import java.util.Locale;
import javax.net.ssl.SSLException;

/** Says in a person's words why a call to an agent failed at the TLS layer, and what to do next. */
final class TlsFailure {
    private TlsFailure() {}

    /**
     * The agent did not take our certificate. Since agents also let in browsers, a certificate of
     * another CA is not even sent (TLS offers only ones of the CA the server names), and the
     * answer is a 401 rather than a failed handshake; either way this is what to say.
     */
    static String refusedCertificate(String address, AgentCredentials us) {
        return "the agent at " + address + " refused our certificate (" + us.identity() + ", valid until "
                + us.notAfter() + "): not of its cluster's CA, or expired; 'ferry cluster rotate-certs' renews it";
    }

    static String explain(String address, AgentCredentials us, IOException e) {
        String all = messages(e).toLowerCase(Locale.ROOT);
        String head = "the agent at " + address;
        if (all.contains("unrecognized ssl message") || all.contains("plaintext connection")) {
            return head + " does not speak HTTPS (plain HTTP?); agents serve only HTTPS with client certificates: "
                    + "start it with this version of Ferry ('ferry cluster up')";
        }
        if (all.contains("pkix path") || all.contains("certification path")) {
            return head + " presents a certificate that is not of this cluster's CA (is it an agent of another "
                    + "cluster, or were the certificates made again?); copy this cluster's pki/ folder to its host and "
                    + "restart it";
        }
        if (all.contains("no subject alternative") || all.contains("no name matching")) {
            return head + " presents a certificate that is not valid for that address (" + firstMessage(e)
                    + "); re-issue the node's certificate with 'ferry cluster rotate-certs --node NODE' and restart "
                    + "its agent";
        }
        if (all.contains("certificate_expired")) {
            return head + " refused our certificate (" + us.identity() + ") as expired; renew it with 'ferry "
                    + "cluster rotate-certs'";
        }
        if (all.contains("bad_certificate") || all.contains("certificate_unknown") || all.contains("certificate_required")
                || all.contains("unknown_ca")) {
            return refusedCertificate(address, us);
        }
        if (e instanceof java.net.http.HttpConnectTimeoutException) {
            return head + " does not answer: no TLS connection within the time limit (is the address right, and is "
                    + "the agent up? 'ferry cluster status' shows each node)";
        }
        if (e instanceof SSLException || hasCause(e, SSLException.class)) {
            return head + ": the TLS handshake failed (" + firstMessage(e) + ")";
        }
        return head + " does not answer: " + e;
    }

    private static String messages(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            b.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage()).append(" | ");
        }
        return b.toString();
    }

    private static String firstMessage(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null) {
                return t.getMessage();
            }
        }
        return e.toString();
    }

    private static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }
}
