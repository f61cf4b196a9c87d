package dev.procq.api;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * At most {@code perClient} open submissions per client, so one client cannot take the whole
 * database pool (each open submission holds a connection for its COPY). A client is its token's id,
 * or its remote address when there are no tokens. Answered 429 with Retry-After when full.
 */
final class SubmissionGate {
    private final int perClient;
    private final long retryAfterSeconds;
    private final Map<String, Integer> open = new ConcurrentHashMap<>();

    SubmissionGate(int perClient, long retryAfterSeconds) {
        this.perClient = perClient;
        this.retryAfterSeconds = Math.max(1, retryAfterSeconds);
    }

    /** Takes a place for {@code client}, or refuses with 429; give it back with {@link Pass#close}. */
    Pass enter(String client) {
        boolean[] admitted = {false};
        open.compute(client, (key, count) -> {
            int now = count == null ? 0 : count;
            if (now >= perClient) return now;
            admitted[0] = true;
            return now + 1;
        });
        if (!admitted[0]) {
            throw new ApiError(429, "too many submissions at once from this client: at most " + perClient
                    + " may be open at a time (PROCQ_SUBMISSIONS_PER_CLIENT); retry when one has finished",
                    Map.of("limit", perClient, "retryAfterSeconds", retryAfterSeconds));
        }
        return () -> open.computeIfPresent(client, (key, count) -> count <= 1 ? null : count - 1);
    }

    long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    @FunctionalInterface
    interface Pass extends AutoCloseable {
        @Override
        void close();
    }
}
