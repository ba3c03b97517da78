package ferry.cluster.pki;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Who a certificate of the cluster speaks for: the admin (the CLI, may do everything) or one node
 * (its agent and its QEMUs, may do only what a migration's peer needs). The role travels in a URI
 * subject alternative name ({@code ferry:admin}, {@code ferry:node:NAME}) so that no name a user
 * picks for a node can pass for the admin; the subject is a single common name, the form QEMU's
 * {@code authz-simple} compares against.
 */
public record Identity(Role role, String name) {
    public enum Role { ADMIN, NODE }

    static final String URI_PREFIX = "ferry:";

    public static Identity admin() {
        return new Identity(Role.ADMIN, "admin");
    }

    public static Identity node(String name) {
        return new Identity(Role.NODE, name);
    }

    /** The subject's distinguished name, exactly as GnuTLS (and so QEMU's {@code tls-authz}) prints it. */
    public String distinguishedName() {
        return "CN=" + commonName();
    }

    String commonName() {
        return role == Role.ADMIN ? "ferry-admin" : name;
    }

    String uri() {
        return role == Role.ADMIN ? URI_PREFIX + "admin" : URI_PREFIX + "node:" + name;
    }

    /** The identity a certificate of the cluster carries, if it carries one. */
    public static Optional<Identity> of(X509Certificate cert) {
        Collection<List<?>> sans;
        try {
            sans = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return Optional.empty();
        }
        if (sans == null) {
            return Optional.empty();
        }
        for (List<?> san : sans) {
            if (Integer.valueOf(6).equals(san.get(0)) && san.get(1) instanceof String uri) { // 6: uniformResourceIdentifier
                if (uri.equals(URI_PREFIX + "admin")) {
                    return Optional.of(admin());
                }
                if (uri.startsWith(URI_PREFIX + "node:")) {
                    return Optional.of(node(uri.substring((URI_PREFIX + "node:").length())));
                }
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return role == Role.ADMIN ? "the admin" : "node '" + name + "'";
    }
}
