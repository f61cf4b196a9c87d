package dev.procq.pool;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The last {@code capacity} bytes a child wrote. Memory stays bounded whatever the child writes:
 * once full, new bytes overwrite the oldest (a ring buffer).
 */
final class OutputTail {

    /** Quiet children are the common case, so the buffer grows towards its capacity as needed. */
    private static final int FIRST_ALLOCATION = 256;

    private final int capacity;
    private byte[] buffer = new byte[0];
    /** Bytes held; while below capacity they sit at the start of the buffer in order. */
    private int size;
    /** Once full: where the next byte goes, which is also where the oldest byte is. */
    private int next;
    private long totalBytes;

    OutputTail(int capacity) {
        if (capacity < 0) {
            throw new IllegalArgumentException("capacity must not be negative, was " + capacity);
        }
        this.capacity = capacity;
    }

    synchronized void append(byte[] chunk, int offset, int length) {
        totalBytes += length;
        if (capacity == 0 || length == 0) {
            return;
        }
        if (length >= capacity) {
            growTo(capacity);
            System.arraycopy(chunk, offset + length - capacity, buffer, 0, capacity);
            size = capacity;
            next = 0;
            return;
        }
        if (size + length <= capacity) {
            if (size + length > buffer.length) {
                growTo(Math.min(capacity, Math.max(size + length,
                        Math.max(FIRST_ALLOCATION, buffer.length * 2))));
            }
            System.arraycopy(chunk, offset, buffer, size, length);
            size += length;
            next = size % capacity;
            return;
        }
        growTo(capacity);
        int untilEnd = Math.min(length, capacity - next);
        System.arraycopy(chunk, offset, buffer, next, untilEnd);
        System.arraycopy(chunk, offset + untilEnd, buffer, 0, length - untilEnd);
        next = (next + length) % capacity;
        size = capacity;
    }

    /** The kept bytes, oldest first. */
    synchronized byte[] bytes() {
        if (size < capacity) {
            return Arrays.copyOf(buffer, size);
        }
        byte[] ordered = new byte[size];
        System.arraycopy(buffer, next, ordered, 0, size - next);
        System.arraycopy(buffer, 0, ordered, size - next, next);
        return ordered;
    }

    synchronized long totalBytes() {
        return totalBytes;
    }

    /**
     * The kept bytes as text. Malformed UTF-8 becomes U+FFFD rather than an error: output is
     * whatever the child wrote. When older output was dropped, the tail may begin inside a
     * character; those leftover continuation bytes are skipped instead of showing as U+FFFD.
     */
    String text() {
        byte[] kept;
        boolean truncated;
        synchronized (this) {
            kept = bytes();
            truncated = totalBytes > size;
        }
        return decode(kept, truncated);
    }

    /** Kept bytes as text, as {@link #text()} explains; {@code truncated} when older were dropped. */
    static String decode(byte[] kept, boolean truncated) {
        int start = 0;
        while (truncated && start < Math.min(3, kept.length) && (kept[start] & 0xC0) == 0x80) {
            start++;
        }
        return new String(kept, start, kept.length - start, StandardCharsets.UTF_8);
    }

    private void growTo(int length) {
        if (buffer.length < length) {
            buffer = Arrays.copyOf(buffer, length);
        }
    }
}
