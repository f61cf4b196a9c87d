package dev.procq.api;

import io.javalin.http.Context;
import java.time.Duration;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;

/**
 * The connection's idle timeout, set to the submission window while a submission is read and put
 * back after: a client that sends nothing at all is then cut off within the window (the read
 * fails, {@link PacedBody} answers 408), not after Jetty's general idle timeout.
 */
final class SlowClientTimeout implements AutoCloseable {
    private final EndPoint endPoint;
    private final long previousMillis;

    private SlowClientTimeout(EndPoint endPoint, long previousMillis) {
        this.endPoint = endPoint;
        this.previousMillis = previousMillis;
    }

    static SlowClientTimeout set(Context ctx, Duration window) {
        ServletContextRequest request = ServletContextRequest.getServletContextRequest(ctx.req());
        EndPoint endPoint = request == null ? null : request.getConnectionMetaData().getConnection().getEndPoint();
        if (endPoint == null) return new SlowClientTimeout(null, 0);
        long previous = endPoint.getIdleTimeout();
        // Never longer than Jetty's own: the window only ever shortens the wait.
        long millis = previous > 0 ? Math.min(previous, window.toMillis()) : window.toMillis();
        endPoint.setIdleTimeout(millis);
        return new SlowClientTimeout(endPoint, previous);
    }

    @Override
    public void close() {
        if (endPoint != null) endPoint.setIdleTimeout(previousMillis);
    }
}
