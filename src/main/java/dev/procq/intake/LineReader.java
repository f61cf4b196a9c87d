package dev.procq.intake;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads strict UTF-8 lines (\n, \r\n or \r) without ever holding more than one bounded
 * line, so a body of one endless line cannot exhaust memory.
 */
final class LineReader implements Closeable {
    private final Reader reader;
    private final int maxLength;
    private final char[] buffer = new char[64 * 1024];
    private int position;
    private int limit;
    private long lineNumber;
    private boolean skipLineFeed;

    LineReader(InputStream in, int maxLength) {
        this.reader = new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT));
        this.maxLength = maxLength;
    }

    /** The next line without its terminator, or null at the end. */
    String next() throws IOException {
        StringBuilder line = new StringBuilder();
        boolean any = false;
        while (true) {
            if (position == limit) {
                limit = reader.read(buffer, 0, buffer.length);
                position = 0;
                if (limit <= 0) {
                    limit = 0;
                    if (!any) return null;
                    lineNumber++;
                    return line.toString();
                }
            }
            char c = buffer[position++];
            if (skipLineFeed) {
                skipLineFeed = false;
                if (c == '\n') continue;
            }
            any = true;
            if (c == '\n' || c == '\r') {
                skipLineFeed = c == '\r';
                lineNumber++;
                return line.toString();
            }
            if (line.length() >= maxLength) {
                throw new LineTooLongException(lineNumber + 1);
            }
            line.append(c);
        }
    }

    long lineNumber() {
        return lineNumber;
    }

    @Override
    public void close() throws IOException {
        // The request body belongs to the server; closing the reader would close it early.
    }

    static final class LineTooLongException extends RuntimeException {
        private final long lineNumber;

        LineTooLongException(long lineNumber) {
            super("line " + lineNumber + " too long");
            this.lineNumber = lineNumber;
        }

        long lineNumber() {
            return lineNumber;
        }
    }
}
