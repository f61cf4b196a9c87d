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
        // Most lines lie inside the buffer and become a String in one copy; only a line cut
        // by the buffer's end is pieced together, and never beyond maxLength.
        StringBuilder cut = null;
        while (true) {
            if (position == limit) {
                limit = reader.read(buffer, 0, buffer.length);
                position = 0;
                if (limit <= 0) {
                    limit = 0;
                    if (cut == null) return null;
                    lineNumber++;
                    return cut.toString();
                }
            }
            if (skipLineFeed) {
                skipLineFeed = false;
                if (buffer[position] == '\n') {
                    position++;
                    continue;
                }
            }
            int start = position;
            int end = start;
            while (end < limit && buffer[end] != '\n' && buffer[end] != '\r') end++;
            if ((cut == null ? 0 : cut.length()) + end - start > maxLength) {
                throw new LineTooLongException(lineNumber + 1);
            }
            if (end == limit) {
                if (cut == null) cut = new StringBuilder(Math.max(64, 2 * (end - start)));
                cut.append(buffer, start, end - start);
                position = end;
                continue;
            }
            skipLineFeed = buffer[end] == '\r';
            position = end + 1;
            lineNumber++;
            if (cut == null) return new String(buffer, start, end - start);
            return cut.append(buffer, start, end - start).toString();
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
