package ferry.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Races for the lock of one VM: every successful {@code lock} must be the only holder, checked
 * with a marker file created exclusively (O_EXCL) while holding it. Run in threads of the test JVM
 * and, through {@link #main}, in a second JVM.
 */
final class LockHammer {

    record Result(String me, int acquired, int refused, int violations, String firstProblem) {
        String line() {
            return "RESULT " + me + " " + acquired + " " + refused + " " + violations + " "
                    + (firstProblem == null ? "-" : firstProblem.replace(' ', '_').replace('\n', '_'));
        }

        static Result parse(String line) {
            String[] f = line.split(" ");
            return new Result(f[1], Integer.parseInt(f[2]), Integer.parseInt(f[3]), Integer.parseInt(f[4]),
                    f[5].equals("-") ? null : f[5]);
        }
    }

    private LockHammer() {}

    /** args: store spec (see StoreSpec), vmid, owner, lock name (who I am), iterations, marker file, go file. */
    public static void main(String[] args) throws Exception {
        ClusterStore store = StoreSpec.open(args[0]);
        Path go = Path.of(args[6]);
        System.out.println("READY");
        System.out.flush();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!Files.exists(go)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no go signal");
            }
            Thread.sleep(1);
        }
        Result r = run(store, Integer.parseInt(args[1]), args[2], args[3], Integer.parseInt(args[4]), Path.of(args[5]));
        System.out.println(r.line());
        System.out.flush();
    }

    static Result run(ClusterStore store, int vmid, String owner, String me, int iterations, Path marker)
            throws IOException, InterruptedException {
        int acquired = 0;
        int refused = 0;
        int violations = 0;
        String problem = null;
        java.util.Random random = new java.util.Random(me.hashCode());
        for (int i = 0; i < iterations; i++) {
            if (i > 0) {
                Thread.sleep(0, random.nextInt(1_000_000)); // leave the VM free for a moment, so others get a turn
            }
            try {
                store.lock(vmid, owner, me);
            } catch (ClusterException e) {
                String m = e.getMessage();
                boolean namesOtherHolder = m.contains("is locked (h-") && !m.contains("is locked (" + me + ")");
                if (e.reason() == ClusterException.Reason.LOCKED && namesOtherHolder) {
                    refused++;
                } else {
                    violations++;
                    problem = problem != null ? problem : "unexpected refusal: " + e.reason() + " " + m;
                }
                continue;
            }
            acquired++;
            try {
                Files.writeString(marker, me, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE_NEW,
                        java.nio.file.StandardOpenOption.WRITE);
            } catch (FileAlreadyExistsException e) {
                violations++;
                problem = problem != null ? problem : me + " got the lock while " + readQuietly(marker) + " held it";
                try {
                    store.unlock(vmid, owner, me);
                } catch (ClusterException ignored) {
                    // already counted
                }
                continue;
            }
            Thread.sleep(0, 200_000 + random.nextInt(500_000)); // hold it
            String holder = Files.readString(marker);
            if (!holder.equals(me)) {
                violations++;
                problem = problem != null ? problem : "marker overwritten by " + holder;
            }
            Files.delete(marker);
            try {
                store.unlock(vmid, owner, me);
            } catch (ClusterException e) {
                violations++;
                problem = problem != null ? problem : "unlock of own lock failed: " + e.getMessage();
            }
        }
        return new Result(me, acquired, refused, violations, problem);
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "?";
        }
    }
}
