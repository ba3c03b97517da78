package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.INVALID;

import java.util.regex.Pattern;

/** Validation of the names and numbers that become file names or keys. */
public final class Names {
    static final int MIN_VMID = 100;
    static final int MAX_VMID = 999_999_999;

    private static final Pattern NODE = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    private static final Pattern LOCK = Pattern.compile("[a-z][a-z0-9-]{0,31}");
    private static final Pattern TASK = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}");
    private static final Pattern HOSTNAME = Pattern.compile(
            "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*(%[A-Za-z0-9_.-]+)?");

    private Names() {}

    public static String name(String what, String value) {
        if (value == null || !NODE.matcher(value).matches()) {
            throw new ClusterException(INVALID, what + " name '" + value
                    + "' is invalid; use lower-case letters, digits and '-', starting with a letter or digit (at most 63)");
        }
        return value;
    }

    public static int vmid(int vmid) {
        if (vmid < MIN_VMID || vmid > MAX_VMID) {
            throw new ClusterException(INVALID, "vmid " + vmid + " is out of range; use " + MIN_VMID + ".." + MAX_VMID);
        }
        return vmid;
    }

    public static String lock(String lock) {
        if (lock == null || !LOCK.matcher(lock).matches()) {
            throw new ClusterException(INVALID, "lock name '" + lock
                    + "' is invalid; use lower-case letters, digits and '-', starting with a letter (e.g. 'migrate')");
        }
        return lock;
    }

    public static String taskId(String taskId) {
        if (taskId == null || !TASK.matcher(taskId).matches()) {
            throw new ClusterException(INVALID, "task id '" + taskId
                    + "' is invalid; use letters, digits and '._:@-', starting with a letter or digit (at most 200)");
        }
        return taskId;
    }

    /** A host name, an IPv4 address or a bare IPv6 address. */
    public static boolean isHost(String host) {
        return host != null && (HOSTNAME.matcher(host).matches() || IPV6.matcher(host).matches());
    }

    /** Splits "host:port" or "[v6]:port"; null when it does not parse. */
    public static HostPort hostPort(String address) {
        if (address == null) {
            return null;
        }
        int colon = address.lastIndexOf(':');
        if (colon <= 0 || colon == address.length() - 1) {
            return null;
        }
        String host = address.substring(0, colon);
        String port = address.substring(colon + 1);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
            if (!IPV6.matcher(host).matches()) {
                return null;
            }
        } else if (!HOSTNAME.matcher(host).matches()) {
            return null;
        }
        if (!port.chars().allMatch(Character::isDigit) || port.length() > 5) {
            return null;
        }
        int p = Integer.parseInt(port);
        return p >= 1 && p <= 65535 ? new HostPort(host, p) : null;
    }

    public record HostPort(String host, int port) {}
}
