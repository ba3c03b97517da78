package ferry.testkit.netns;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Link rates as people write them ("200mbit", "1gbit", "500kbit", "64000000") and as tc takes them (bits/s). */
public final class BitRate {
    private static final Pattern RATE = Pattern.compile("(\\d+)\\s*(|bit|kbit|mbit|gbit)(?:/s)?");

    private BitRate() {}

    /** Bits per second; decimal units, as tc reads them. */
    public static long parse(String text) {
        Matcher m = RATE.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a link rate: write e.g. 200mbit, 1gbit, 500kbit");
        }
        long n = Long.parseLong(m.group(1));
        long bits = switch (m.group(2)) {
            case "kbit" -> n * 1_000;
            case "mbit" -> n * 1_000_000;
            case "gbit" -> n * 1_000_000_000;
            default -> n;
        };
        if (bits < 8_000) {
            throw new IllegalArgumentException("link rate " + text + " is below 8 kbit/s, too slow to carry anything");
        }
        return bits;
    }

    /** "200 Mbit/s", "1.5 Gbit/s", "500 kbit/s". */
    public static String format(long bitsPerSecond) {
        if (bitsPerSecond >= 1_000_000_000) {
            return number(bitsPerSecond / 1e9) + " Gbit/s";
        }
        if (bitsPerSecond >= 1_000_000) {
            return number(bitsPerSecond / 1e6) + " Mbit/s";
        }
        return number(bitsPerSecond / 1e3) + " kbit/s";
    }

    private static String number(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v);
    }
}
