package ferry.agent.tls;

import javax.net.ssl.SSLContext;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The agent's only listening port: TLS that asks for a client certificate of the cluster's CA,
 * then HTTP/1.1. A client that presents an expired one or one of another CA fails the handshake;
 * a client that presents none (a browser, Prometheus) gets through the handshake but no data
 * without one of the cluster's secrets ({@code BrowserGate}). Plain HTTP fails the handshake.
 */
public final class HttpsConnector {
    private HttpsConnector() {}

    public static ServerConnector create(Server server, HttpConfiguration base, SSLContext tls, String host, int port) {
        SslContextFactory.Server factory = new SslContextFactory.Server();
        factory.setSslContext(tls);
        // wanted, not needed: a browser has no certificate; every route still requires one or a secret
        factory.setWantClientAuth(true);
        HttpConfiguration https = new HttpConfiguration(base);
        // puts the peer's certificates on the request; the host check is the client's job (it verifies our SAN)
        https.addCustomizer(new SecureRequestCustomizer(false));
        ServerConnector c = new ServerConnector(server, new SslConnectionFactory(factory, HttpVersion.HTTP_1_1.asString()),
                new HttpConnectionFactory(https));
        c.setHost(host);
        c.setPort(port);
        return c;
    }

    /** The TLS settings of a connector made by {@link #create}: {@code reload} swaps its certificate. */
    public static SslContextFactory.Server sslContextFactory(ServerConnector c) {
        return (SslContextFactory.Server) c.getConnectionFactory(SslConnectionFactory.class).getSslContextFactory();
    }
}
