package dev.procq.api;

import dev.procq.config.Durations;
import dev.procq.config.SubmissionLimits;
import dev.procq.intake.IntakeException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A submission's body that must keep coming: at least {@code minBytes} in every {@code window}
 * spent waiting for the client, and all of it within {@code timeout}. Otherwise reading fails with
 * 408, which intake turns into a cancelled COPY and a rolled-back transaction, so nothing is
 * recorded and the connection goes back to the pool.
 *
 * <p>Only the time spent blocked in the client's read counts towards the window: while intake is
 * busy writing to PostgreSQL the client is not being read, and a slow database must not make a
 * fast client look slow. A client that sends nothing at all is caught by the connection's idle
 * timeout, which {@link BatchHandlers} sets to the window for the submission; Jetty's idle timeout
 * alone would not catch one that sends a byte a second.
 */
final class PacedBody extends InputStream {
    private final InputStream body;
    private final SubmissionLimits limits;
    private final LongSupplier nanoClock;
    private final long deadline;
    private long windowWaited;
    private long windowBytes;

    PacedBody(InputStream body, SubmissionLimits limits, LongSupplier nanoClock) {
        this.body = body;
        this.limits = limits;
        this.nanoClock = nanoClock;
        this.deadline = nanoClock.getAsLong() + limits.timeout().toNanos();
    }

    PacedBody(InputStream body, SubmissionLimits limits) {
        this(body, limits, System::nanoTime);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        long started = nanoClock.getAsLong();
        if (started - deadline > 0) throw tooLong();
        int read;
        try {
            read = body.read(buffer, offset, length);
        } catch (IOException e) {
            if (isTimeout(e)) throw tooSlow();
            throw e;
        }
        long now = nanoClock.getAsLong();
        if (read < 0) return read;
        windowWaited += now - started;
        windowBytes += read;
        if (windowWaited >= limits.window().toNanos()) {
            if (windowBytes < limits.minBytes()) throw tooSlow();
            windowWaited = 0;
            windowBytes = 0;
        }
        if (now - deadline > 0) throw tooLong();
        return read;
    }

    @Override
    public int available() throws IOException {
        return body.available();
    }

    @Override
    public void close() throws IOException {
        body.close();
    }

    /** Jetty's idle timeout surfaces as an IOException caused by a TimeoutException. */
    private static boolean isTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.util.concurrent.TimeoutException || t instanceof java.net.SocketTimeoutException) return true;
            if (t.getCause() == t) break;
        }
        return false;
    }

    private IntakeException tooSlow() {
        return new IntakeException(408, "request body too slow: a submission must send at least " + limits.minBytes()
                + " bytes every " + Durations.format(limits.window())
                + " (PROCQ_SUBMISSION_MIN_BYTES, PROCQ_SUBMISSION_WINDOW); nothing was recorded",
                Map.of("minBytes", limits.minBytes(), "window", Durations.format(limits.window())));
    }

    private IntakeException tooLong() {
        return new IntakeException(408, "request body took longer than " + Durations.format(limits.timeout())
                + " (PROCQ_SUBMISSION_TIMEOUT); nothing was recorded; split the batch or send it faster",
                Map.of("timeout", Durations.format(limits.timeout())));
    }
}
