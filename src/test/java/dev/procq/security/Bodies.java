package dev.procq.security;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.LongFunction;

/**
 * Request bodies made on the fly, a piece at a time, so a test can send 100 MB (or an endless
 * stream) without ever holding it: the server must not be able to wait for the end either.
 */
final class Bodies {
    /** Stands for "never ends". */
    static final long ENDLESS = Long.MAX_VALUE;

    private Bodies() {
    }

    /** prefix, then piece(0), piece(1), ... piece(count - 1), then suffix. */
    static InputStream of(String prefix, long count, LongFunction<String> piece, String suffix) {
        return new InputStream() {
            private byte[] current = prefix.getBytes(StandardCharsets.UTF_8);
            private int position;
            private long next;
            private boolean suffixSent;

            @Override
            public int read() {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] buffer, int offset, int length) {
                if (length == 0) return 0;
                while (position == current.length) {
                    if (next < count) {
                        current = piece.apply(next++).getBytes(StandardCharsets.UTF_8);
                    } else if (!suffixSent) {
                        current = suffix.getBytes(StandardCharsets.UTF_8);
                        suffixSent = true;
                    } else {
                        return -1;
                    }
                    position = 0;
                }
                int n = Math.min(length, current.length - position);
                System.arraycopy(current, position, buffer, offset, n);
                position += n;
                return n;
            }
        };
    }

    /** The same text over and over. */
    static InputStream repeated(String prefix, String unit, long times, String suffix) {
        return of(prefix, times, i -> unit, suffix);
    }

    /** How many bytes {@link #of} would produce in all, without producing them. */
    static long length(String prefix, long count, LongFunction<String> piece, String suffix) {
        long total = prefix.getBytes(StandardCharsets.UTF_8).length + suffix.getBytes(StandardCharsets.UTF_8).length;
        for (long i = 0; i < count; i++) total += piece.apply(i).getBytes(StandardCharsets.UTF_8).length;
        return total;
    }
}
