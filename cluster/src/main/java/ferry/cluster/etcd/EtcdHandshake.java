package ferry.cluster.etcd;

import ferry.cluster.StoreAddress;
import ferry.cluster.pki.PkiException;
import ferry.cluster.pki.TlsContexts;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Why etcd turns this client away, found with a handshake of our own. gRPC hides the reason (a
 * refused certificate looks like an etcd that does not answer, and would be waited for), so
 * when a call fails the store asks this: it says so only for lasting refusals — a certificate
 * refused either way, TLS spoken to a plain etcd or the reverse — and says nothing when etcd is
 * simply not there (it may be restarting, which the store waits for).
 */
final class EtcdHandshake {
    private static final int TIMEOUT_MS = 2_000;

    private EtcdHandshake() {}

    /** The reason the first endpoint that answers refuses us, if it does. */
    static Optional<String> refusal(StoreAddress address, EtcdTls tls) {
        for (URI endpoint : address.etcdEndpoints()) {
            Optional<Optional<String>> r = address.isTls() ? overTls(endpoint, tls) : plain(endpoint);
            if (r.isPresent()) {
                return r.get();
            }
        }
        return Optional.empty();
    }

    /** Empty when the endpoint did not answer; else the refusal, or none when it let us in. */
    private static Optional<Optional<String>> overTls(URI endpoint, EtcdTls tls) {
        String where = "etcd at " + endpoint.getHost() + ":" + endpoint.getPort();
        SSLContext ssl;
        try {
            ssl = TlsContexts.of(tls.client(), tls.ca());
        } catch (PkiException e) {
            return Optional.of(Optional.of(e.getMessage()));
        }
        try (Socket raw = connect(endpoint);
             SSLSocket s = (SSLSocket) ssl.getSocketFactory().createSocket(raw, bare(endpoint), endpoint.getPort(), true)) {
            SSLParameters p = s.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the host we dialled
            if (!endpoint.getHost().matches("[0-9.]+|\\[.*\\]")) {
                p.setServerNames(java.util.List.of(new SNIHostName(endpoint.getHost())));
            }
            s.setSSLParameters(p);
            try {
                s.startHandshake();
            } catch (SSLException e) {
                String m = String.valueOf(e.getMessage());
                if (m.contains("PKIX") || m.contains("certification path") || m.contains("No subject alternative")
                        || m.contains("No name matching")) {
                    return Optional.of(Optional.of(where + " presents a certificate this client does not trust (" + m
                            + "): it must be the one 'ferry cluster create' issued into pki/etcd/ for this host, "
                            + "signed by the cluster's CA"));
                }
                // a plain etcd drops a TLS hello without a word, as one that restarts might: ask it in plain HTTP
                if (m.contains("Unsupported or unrecognized SSL message") || plainHttp(endpoint) == Plain.ANSWERED) {
                    return Optional.of(Optional.of(where + " does not speak TLS: start it with the cluster's "
                            + "certificate (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth), or use "
                            + "the plain etcd:// address"));
                }
                return Optional.of(refused(where, tls, e));
            }
            // TLS 1.3: a server refuses the client's certificate only after the handshake, on the first read
            s.getOutputStream().write(("GET /health HTTP/1.1\r\nHost: " + endpoint.getHost() + "\r\nConnection: close"
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            try {
                s.getInputStream().read();
                return Optional.of(Optional.empty());
            } catch (SSLException e) {
                return Optional.of(refused(where, tls, e));
            }
        } catch (IOException e) {
            return Optional.empty(); // not there, or no answer: not a refusal
        }
    }

    private static Optional<String> refused(String where, EtcdTls tls, SSLException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("bad_certificate") || m.contains("certificate_required") || m.contains("unknown_ca")
                || m.contains("certificate_unknown") || m.contains("certificate_expired")
                || m.contains("bad certificate")) {
            return Optional.of(where + " refused this client's certificate (" + tls.client() + "; " + m + "): etcd "
                    + "lets in only certificates of the CA in its --trusted-ca-file; start it with this cluster's "
                    + "pki/ca-cert.pem, or use this cluster's own folder");
        }
        return Optional.empty();
    }

    /** Empty when the endpoint did not answer; a refusal when it turns out to speak TLS only. */
    private static Optional<Optional<String>> plain(URI endpoint) {
        return switch (plainHttp(endpoint)) {
            case ABSENT -> Optional.empty();
            case ANSWERED -> Optional.of(Optional.empty());
            // a plain etcd answers HTTP; a TLS one closes the connection without a word
            case SILENT -> Optional.of(Optional.of("etcd at " + endpoint.getHost() + ":" + endpoint.getPort()
                    + " closed the connection without answering plain HTTP, so it probably speaks TLS only: use the "
                    + "store address etcds://" + endpoint.getHost() + ":" + endpoint.getPort()
                    + " with the cluster's certificates"));
        };
    }

    private enum Plain { ABSENT, ANSWERED, SILENT }

    /** What the endpoint does with a plain HTTP request: not there, answers, or hangs up without a word. */
    private static Plain plainHttp(URI endpoint) {
        try (Socket s = connect(endpoint)) {
            s.getOutputStream().write(("GET /health HTTP/1.1\r\nHost: " + endpoint.getHost() + "\r\nConnection: close"
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            return in.readNBytes(5).length == 0 ? Plain.SILENT : Plain.ANSWERED;
        } catch (IOException e) {
            return Plain.ABSENT;
        }
    }

    private static Socket connect(URI endpoint) throws IOException {
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(bare(endpoint), endpoint.getPort()), TIMEOUT_MS);
            s.setSoTimeout(TIMEOUT_MS);
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    /** The endpoint's host without an IPv6 literal's brackets. */
    private static String bare(URI endpoint) {
        return endpoint.getHost().replace("[", "").replace("]", "");
    }
}
