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
 * The agent's only listening port: TLS that demands a client certificate of the cluster's CA (a
 * client without one, or with an expired one or one of another CA, fails the handshake), then
 * HTTP/1.1. Plain HTTP on this port fails the handshake too.
 */
public final class HttpsConnector {
    private HttpsConnector() {}

    public static ServerConnector create(Server server, HttpConfiguration base, SSLContext tls, String host, int port) {
        SslContextFactory.Server factory = new SslContextFactory.Server();
        factory.setSslContext(tls);
        factory.setNeedClientAuth(true);
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
