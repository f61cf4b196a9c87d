package dev.procq.api;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * A submission's body: opened on first read, and drained when the answer is known. A client
 * streaming a million lines is still sending when intake refuses the type, replays an
 * idempotency key or stops at a bad line; if the server answered and closed the connection
 * then, the client would see a broken upload instead of the answer. Draining is bounded, so a
 * client cannot hold the server with an endless body.
 */
final class RequestBody extends InputStream {
    static final long DRAIN_LIMIT_BYTES = 64L << 20;
    static final Duration DRAIN_LIMIT_TIME = Duration.ofSeconds(10);

    private final Supplier<InputStream> open;
    private InputStream body;

    RequestBody(Supplier<InputStream> open) {
        this.open = open;
    }

    private InputStream body() {
        if (body == null) body = open.get();
        return body;
    }

    @Override
    public int read() throws IOException {
        return body().read();
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        return body().read(buffer, offset, length);
    }

    /** Reads and discards what is left, within the limits; a broken connection ends it quietly. */
    void drain() {
        byte[] buffer = new byte[64 * 1024];
        long drained = 0;
        long deadline = System.nanoTime() + DRAIN_LIMIT_TIME.toNanos();
        try {
            int read;
            while (drained < DRAIN_LIMIT_BYTES && System.nanoTime() < deadline && (read = body().read(buffer)) >= 0) {
                drained += read;
            }
        } catch (IOException | RuntimeException e) {
            // the client is gone or sent garbage: nothing to answer
        }
    }
}
