package ferry.cluster.pki;

import ferry.cluster.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;

/**
 * The two secrets beside the certificates for clients that hold no certificate of the cluster:
 * <pre>
 *   pki/ui-password      a person's login to the web UI of every agent (the admin's rights, as the CLI)
 *   pki/metrics-token    Prometheus's bearer token: it may read GET /metrics and nothing else
 * </pre>
 * Both are random (32 bytes, base64url), mode 0600, made by {@code cluster create} (and by the
 * commands that print them, for clusters made before them). Agents read them at each use, so a
 * file replaced by hand takes effect at once; a node's host needs them only for what it serves.
 */
public final class AccessTokens {
    public static final String UI_PASSWORD = "ui-password";
    public static final String METRICS_TOKEN = "metrics-token";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path folder;

    private AccessTokens(Path folder) {
        this.folder = folder;
    }

    public static AccessTokens in(Path clusterDir) {
        return new AccessTokens(ClusterPki.in(clusterDir).folder());
    }

    public Path uiPasswordFile() {
        return folder.resolve(UI_PASSWORD);
    }

    public Path metricsTokenFile() {
        return folder.resolve(METRICS_TOKEN);
    }

    /** Writes whichever of the two is missing; keeps those there. */
    public AccessTokens ensure() {
        for (Path f : new Path[] {uiPasswordFile(), metricsTokenFile()}) {
            if (!Files.exists(f)) {
                byte[] secret = new byte[32];
                RANDOM.nextBytes(secret);
                String text = Base64.getUrlEncoder().withoutPadding().encodeToString(secret) + "\n";
                try {
                    Files.createDirectories(folder);
                    AtomicFiles.write(f, text.getBytes(StandardCharsets.US_ASCII),
                            PosixFilePermissions.fromString("rw-------"));
                } catch (IOException e) {
                    throw new PkiException("cannot write " + f + ": " + e.getMessage());
                }
            }
        }
        return this;
    }

    public Optional<String> uiPassword() {
        return read(uiPasswordFile());
    }

    public Optional<String> metricsToken() {
        return read(metricsTokenFile());
    }

    /** Whether {@code offered} is {@code secret}, compared in constant time; false when there is no secret. */
    public static boolean matches(Optional<String> secret, String offered) {
        return secret.isPresent() && offered != null && MessageDigest.isEqual(
                secret.get().getBytes(StandardCharsets.UTF_8), offered.strip().getBytes(StandardCharsets.UTF_8));
    }

    private static Optional<String> read(Path f) {
        try {
            String s = Files.readString(f, StandardCharsets.US_ASCII).strip();
            return s.isEmpty() ? Optional.empty() : Optional.of(s);
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
