package ferry.agent.web;

import ferry.cluster.pki.AccessTokens;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpStatus;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Lets in the clients that hold no certificate of the cluster, and only as far as their secret
 * reaches. The agent's port asks for a client certificate but no longer demands one (a browser
 * has none), so this runs before every matched route:
 * <ul>
 *   <li>a client with a certificate is judged by {@code PeerAccess} as before, whatever it calls;</li>
 *   <li>the UI's page and assets ({@code /ui}, {@code /ui/assets/...}, login and logout) are open:
 *       they hold no data;</li>
 *   <li>{@code GET /metrics} takes Prometheus's bearer token ({@code pki/metrics-token});</li>
 *   <li>any other route takes a session made by logging in with {@code pki/ui-password}; it
 *       carries the admin's rights. Calls that change something must also carry the header
 *       {@value #UI_HEADER}, which another site's page cannot send (no cross-site request forgery);</li>
 *   <li>everything else answers 401 and says what would let the client in.</li>
 * </ul>
 */
public final class BrowserGate {
    /** Set on a request this gate admitted without a certificate; {@code PeerAccess} lets it pass. */
    public static final String ADMITTED = "ferry.admittedBy";
    public static final String UI_HEADER = "X-Ferry-UI";
    /** A session ends this long after it was made. */
    static final Duration SESSION_LIFE = Duration.ofHours(12);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String node;
    private final AccessTokens tokens;
    private final String cookie;
    /** session id -> when it ends (epoch ms) */
    private final Map<String, Long> sessions = new ConcurrentHashMap<>();

    public BrowserGate(String node, AccessTokens tokens) {
        this.node = node;
        this.tokens = tokens;
        // per node: cookies ignore the port, and two agents on one host must not overwrite each other's
        this.cookie = "ferry_session_" + node.replaceAll("[^A-Za-z0-9_-]", "_");
    }

    /** Whether the gate admitted this request (a UI asset, a scrape with the token, a logged-in browser). */
    public static boolean admitted(Context ctx) {
        return ctx.attribute(ADMITTED) != null;
    }

    /** The before-handler: admits, or leaves the request to the certificate rules, or answers 401. */
    public void check(Context ctx) {
        // the route that matched, not the raw path: no spelling of a URL can pass for another route
        String path = ctx.endpointHandlerPath();
        if (isPublic(path)) {
            ctx.attribute(ADMITTED, "public");
            return;
        }
        if (path.equals("/metrics") && bearer(ctx) != null) {
            if (!AccessTokens.matches(tokens.metricsToken(), bearer(ctx))) {
                throw new Refused(HttpStatus.UNAUTHORIZED, "node '" + node + "' refuses this scrape: the bearer token "
                        + "is not the cluster's metrics token (pki/metrics-token; 'ferry cluster prometheus-config' "
                        + "prints a scrape configuration that uses it)");
            }
            ctx.attribute(ADMITTED, "metrics-token");
            return;
        }
        if (hasCertificate(ctx)) {
            return; // PeerAccess decides, as it always did
        }
        if (path.equals("/metrics")) {
            throw new Refused(HttpStatus.UNAUTHORIZED, "node '" + node + "' serves /metrics to Prometheus with the "
                    + "cluster's metrics token (Authorization: Bearer, pki/metrics-token) or to a client certificate "
                    + "of the cluster");
        }
        if (session(ctx) == null) {
            throw new Refused(HttpStatus.UNAUTHORIZED, "node '" + node + "' answers only clients with a certificate "
                    + "of this cluster, or a browser logged in at /ui (the password: 'ferry cluster ui')");
        }
        if (ctx.method() != HandlerType.GET && ctx.method() != HandlerType.HEAD && ctx.header(UI_HEADER) == null) {
            throw new Refused(HttpStatus.FORBIDDEN, "node '" + node + "' refuses " + ctx.method() + " " + path
                    + " from a browser session without the " + UI_HEADER + " header (the web UI sends it; a page of "
                    + "another site cannot)");
        }
        ctx.attribute(ADMITTED, "ui-session");
    }

    /** {@code POST /ui/login} with {@code {"password": "..."}}: a session cookie, or 401. */
    public void login(Context ctx) throws InterruptedException {
        String offered;
        try {
            offered = String.valueOf(ctx.bodyAsClass(Map.class).getOrDefault("password", ""));
        } catch (RuntimeException e) {
            throw new Refused(HttpStatus.BAD_REQUEST, "a login is {\"password\": \"...\"}");
        }
        if (tokens.uiPassword().isEmpty()) {
            throw new Refused(HttpStatus.SERVICE_UNAVAILABLE, "node '" + node + "' has no UI password file "
                    + tokens.uiPasswordFile() + "; run 'ferry cluster ui' where the cluster folder is (it writes one "
                    + "and prints it), and copy it to this node's host");
        }
        if (!AccessTokens.matches(tokens.uiPassword(), offered)) {
            Thread.sleep(1000); // slows guessing (the password is 256 random bits anyway)
            throw new Refused(HttpStatus.UNAUTHORIZED, "wrong password for node '" + node + "' (see 'ferry cluster ui')");
        }
        byte[] id = new byte[32];
        RANDOM.nextBytes(id);
        String session = Base64.getUrlEncoder().withoutPadding().encodeToString(id);
        long now = System.currentTimeMillis();
        sessions.entrySet().removeIf(e -> e.getValue() < now);
        sessions.put(session, now + SESSION_LIFE.toMillis());
        ctx.header("Set-Cookie", cookie + "=" + session + "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age="
                + SESSION_LIFE.toSeconds());
        ctx.json(Map.of("node", node, "session_seconds", SESSION_LIFE.toSeconds()));
    }

    /** {@code POST /ui/logout}: ends the browser's session. */
    public void logout(Context ctx) {
        String s = ctx.cookie(cookie);
        if (s != null) {
            sessions.remove(s);
        }
        ctx.header("Set-Cookie", cookie + "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
        ctx.json(Map.of("logged_out", true));
    }

    private String session(Context ctx) {
        String s = ctx.cookie(cookie);
        if (s == null) {
            return null;
        }
        Long until = sessions.get(s);
        if (until == null || until < System.currentTimeMillis()) {
            sessions.remove(s);
            return null;
        }
        return s;
    }

    private static boolean isPublic(String path) {
        return path.equals("/ui") || path.equals("/ui/assets/{file}") || path.equals("/ui/login")
                || path.equals("/ui/logout");
    }

    private static String bearer(Context ctx) {
        String h = ctx.header("Authorization");
        return h != null && h.regionMatches(true, 0, "Bearer ", 0, 7) ? h.substring(7).strip() : null;
    }

    private static boolean hasCertificate(Context ctx) {
        return ctx.req().getAttribute("jakarta.servlet.request.X509Certificate") instanceof java.security.cert.X509Certificate[] c
                && c.length > 0;
    }

    /** A request the gate turns away, with its status. */
    public static final class Refused extends RuntimeException {
        private final HttpStatus status;

        Refused(HttpStatus status, String message) {
            super(message);
            this.status = status;
        }

        public HttpStatus status() {
            return status;
        }
    }
}
