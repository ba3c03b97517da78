package ferry.agent;

import ferry.agent.tls.HttpsConnector;
import ferry.cluster.pki.ClusterPki;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An agent's own certificate: the one its port serves and the one it calls its peers with. When
 * {@code rotate-certs} replaces the file, the agent takes the new one within {@link #EVERY}, for
 * new connections, without a restart (a file it cannot use is logged and the old one kept).
 */
final class NodeCertificate implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NodeCertificate.class);
    /** How often the certificate file is looked at. */
    static final Duration EVERY = Duration.ofSeconds(5);

    private final Path clusterDir;
    private final String node;
    private final Path file;
    private volatile AgentCredentials current;
    private volatile SslContextFactory.Server served;
    private volatile Thread watcher;

    private NodeCertificate(Path clusterDir, String node) {
        this.clusterDir = clusterDir;
        this.node = node;
        this.file = ClusterPki.in(clusterDir).nodeFolder(node).resolve("cert.pem");
        this.current = AgentCredentials.node(clusterDir, node);
    }

    /** Reads the node's certificate; refuses a missing or expired one with the remedy. */
    static NodeCertificate load(Path clusterDir, String node) {
        return new NodeCertificate(clusterDir, node);
    }

    AgentCredentials current() {
        return current;
    }

    /** The agent's HTTPS port, serving this certificate (and later its renewals). */
    Connector connector(Server server, HttpConfiguration http, String host, int port) {
        var c = HttpsConnector.create(server, http, current.tls(), host, port);
        served = HttpsConnector.sslContextFactory(c);
        return c;
    }

    /** Starts looking for a renewed certificate file. */
    void watch() {
        FileTime seen = modified();
        watcher = Thread.ofVirtual().name("certificate-watch-" + node).start(() -> {
            FileTime last = seen;
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(EVERY);
                } catch (InterruptedException e) {
                    return;
                }
                FileTime now = modified();
                if (now != null && !now.equals(last)) {
                    last = now;
                    take();
                }
            }
        });
    }

    private void take() {
        try {
            AgentCredentials renewed = AgentCredentials.node(clusterDir, node);
            SslContextFactory.Server f = served;
            if (f != null) {
                f.reload(x -> x.setSslContext(renewed.tls()));
            }
            current = renewed;
            log.info("node '{}' serves and calls its peers with its renewed certificate (valid until {})", node,
                    renewed.notAfter());
        } catch (Exception e) {
            log.warn("node '{}' keeps its certificate: the renewed one in {} cannot be used: {}", node, file,
                    e.getMessage());
        }
    }

    private FileTime modified() {
        try {
            return Files.getLastModifiedTime(file);
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void close() {
        Thread t = watcher;
        if (t != null) {
            t.interrupt();
        }
    }
}
