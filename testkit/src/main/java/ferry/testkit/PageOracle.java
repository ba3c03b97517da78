package ferry.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Checks a memory dump of the bootblock guest's region (e.g. QMP {@code pmemsave} of
 * [{@link Bootblock#REGION_START}, end) taken while the VM is stopped).
 *
 * <p>The guest bumps byte 0 of each page in address order, one pass after another, so a
 * consistent dump has every counter equal to the first page's value {@code v}, except that a
 * pass still in progress leaves a tail of pages at exactly {@code v - 1 (mod 256)}. A page that
 * is further behind, ahead, or back at {@code v} after the tail began means memory was lost or
 * mixed up (e.g. a dirty page that migration failed to resend). All other bytes must stay zero:
 * the guest never writes them and fresh guest RAM is zero.
 */
public final class PageOracle {
    private static final int PAGE = Bootblock.PAGE_SIZE;
    private static final byte[] ZEROS = new byte[PAGE];

    /**
     * Outcome of a check.
     *
     * @param ok          whether the dump is consistent
     * @param pages       number of pages examined
     * @param pass        counter of the first page: passes started, mod 256
     * @param firstBehind index of the first page one pass behind, or -1 if all pages are equal
     *                    (also -1 when the check failed before any such page was seen)
     * @param message     a summary if ok, else what the first bad page holds and what was expected
     */
    public record Result(boolean ok, int pages, int pass, int firstBehind, String message) {}

    private PageOracle() {}

    /** Checks a dump that starts at {@link Bootblock#REGION_START}. */
    public static Result check(byte[] dump) {
        return check(dump, Bootblock.REGION_START);
    }

    /** Checks a dump file that starts at {@link Bootblock#REGION_START}. */
    public static Result check(Path dumpFile) throws IOException {
        return check(Files.readAllBytes(dumpFile));
    }

    /**
     * Checks {@code dump}, whose first byte is guest-physical address {@code base} (only used
     * to name pages in messages).
     *
     * @throws IllegalArgumentException if the dump is empty or not a whole number of pages
     */
    public static Result check(byte[] dump, long base) {
        if (dump.length == 0 || dump.length % PAGE != 0) {
            throw new IllegalArgumentException("dump must be a non-empty multiple of " + PAGE
                    + " bytes, got " + dump.length);
        }
        int pages = dump.length / PAGE;
        int pass = counter(dump, 0);
        int behind = (pass + 255) & 0xff; // pass - 1, wrapping 0 -> 255
        int firstBehind = -1;
        for (int i = 0; i < pages; i++) {
            int c = counter(dump, i);
            if (firstBehind < 0 && c == behind) {
                firstBehind = i;
            } else if (firstBehind < 0 ? c != pass : c != behind) {
                String expected = firstBehind < 0
                        ? "%d (pass of the first page) or %d (pass in progress)".formatted(pass, behind)
                        : "%d, like every page from the first one behind (page %d at %s)"
                                .formatted(behind, firstBehind, address(base, firstBehind));
                return fail(pages, pass, firstBehind, "page %d at %s has counter %d (%s), expected %s"
                        .formatted(i, address(base, i), c, describe(c, pass), expected));
            }
            int junk = Arrays.mismatch(dump, i * PAGE + 1, (i + 1) * PAGE, ZEROS, 1, PAGE);
            if (junk >= 0) {
                long at = base + (long) i * PAGE + 1 + junk;
                return fail(pages, pass, firstBehind, "page %d at %s: byte at 0x%x is 0x%02x, expected 0 (only byte 0 is a counter)"
                        .formatted(i, address(base, i), at, dump[i * PAGE + 1 + junk] & 0xff));
            }
        }
        String state = firstBehind < 0
                ? "all at pass %d".formatted(pass)
                : "pass %d reached page %d of %d".formatted(pass, firstBehind, pages);
        return new Result(true, pages, pass, firstBehind, "%d pages consistent, %s".formatted(pages, state));
    }

    private static int counter(byte[] dump, int page) {
        return dump[page * PAGE] & 0xff;
    }

    private static String address(long base, int page) {
        return "0x%x".formatted(base + (long) page * PAGE);
    }

    /** Says how far off a counter is relative to the first page, modulo 256, for the log. */
    private static String describe(int counter, int pass) {
        int lag = (pass - counter) & 0xff;
        return lag == 0 ? "same as the first page"
                : lag < 128 ? lag + " behind the first page"
                : (256 - lag) + " ahead of the first page";
    }

    private static Result fail(int pages, int pass, int firstBehind, String message) {
        return new Result(false, pages, pass, firstBehind, message);
    }
}
