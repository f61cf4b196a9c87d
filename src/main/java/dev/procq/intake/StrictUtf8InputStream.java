package dev.procq.intake;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;

/**
 * Passes bytes through while checking they are well-formed UTF-8 (RFC 3629): no overlong forms,
 * no encoded surrogates, nothing above U+10FFFF, no sequence cut off at the end. Jackson decodes
 * some of these leniently (C0 AF becomes '/'), and a target must be exactly the text that was
 * sent, so a JSON body is checked here, as it streams, before the parser sees it.
 */
final class StrictUtf8InputStream extends FilterInputStream {
    private long offset;
    /** Continuation bytes still expected in the current sequence. */
    private int remaining;
    /** Allowed range of the next continuation byte (narrower right after some lead bytes). */
    private int low = 0x80;
    private int high = 0xBF;

    StrictUtf8InputStream(InputStream in) {
        super(in);
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b < 0) {
            atEnd();
        } else {
            check(b);
        }
        return b;
    }

    @Override
    public int read(byte[] buffer, int off, int len) throws IOException {
        int n = super.read(buffer, off, len);
        if (n < 0) {
            atEnd();
            return n;
        }
        for (int i = off; i < off + n; i++) {
            byte b = buffer[i];
            if (b >= 0 && remaining == 0) {
                offset++;
                continue;
            }
            check(b & 0xff);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        // Skipped bytes would go unchecked; read them instead.
        byte[] sink = new byte[(int) Math.min(n, 8192)];
        int read = read(sink, 0, sink.length);
        return Math.max(read, 0);
    }

    private void check(int b) throws MalformedUtf8 {
        if (remaining > 0) {
            if (b < low || b > high) throw new MalformedUtf8(offset);
            low = 0x80;
            high = 0xBF;
            remaining--;
        } else if (b >= 0x80) {
            if (b >= 0xC2 && b <= 0xDF) {
                remaining = 1;
            } else if (b == 0xE0) {
                remaining = 2;
                low = 0xA0; // below is overlong
            } else if (b == 0xED) {
                remaining = 2;
                high = 0x9F; // above are the surrogates U+D800..U+DFFF
            } else if (b >= 0xE1 && b <= 0xEF) {
                remaining = 2;
            } else if (b == 0xF0) {
                remaining = 3;
                low = 0x90; // below is overlong
            } else if (b >= 0xF1 && b <= 0xF3) {
                remaining = 3;
            } else if (b == 0xF4) {
                remaining = 3;
                high = 0x8F; // above is past U+10FFFF
            } else {
                throw new MalformedUtf8(offset); // 80..C1 (stray continuation, overlong lead), F5..FF
            }
        }
        offset++;
    }

    private void atEnd() throws MalformedUtf8 {
        if (remaining > 0) throw new MalformedUtf8(offset);
    }

    /** The body broke the UTF-8 rules at a byte offset. */
    static final class MalformedUtf8 extends CharacterCodingException {
        private final long offset;

        MalformedUtf8(long offset) {
            this.offset = offset;
        }

        @Override
        public String getMessage() {
            return "body is not valid UTF-8 at byte " + offset;
        }
    }
}
