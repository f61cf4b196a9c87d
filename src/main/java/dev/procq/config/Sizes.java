package dev.procq.config;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Sizes as operators write them: {@code 512M}, {@code 512MB}, {@code 2GiB}, {@code 4096} (bytes); units are powers of 1024. */
public final class Sizes {
    private static final Pattern SIZE = Pattern.compile("^(\\d+)\\s*([KMGT]i?B?|B)?$", Pattern.CASE_INSENSITIVE);

    private Sizes() {
    }

    /** The size in bytes; IllegalArgumentException when {@code text} is not a size. */
    public static long parse(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) throw new IllegalArgumentException("not a size: " + text);
        long amount;
        try {
            amount = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: " + text);
        }
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase();
        int shift = switch (unit.charAt(0)) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            case 'T' -> 40;
            default -> 0;
        };
        if (amount > Long.MAX_VALUE >> shift) throw new IllegalArgumentException("too large: " + text);
        return amount << shift;
    }

    /** The form used in messages: whole mebibytes (20378MiB), so two readings side by side show their difference. */
    public static String format(long bytes) {
        return Math.abs(bytes) < 1L << 20 ? bytes + "B" : (bytes >> 20) + "MiB";
    }
}
