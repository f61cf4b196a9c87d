package dev.procq.config;

import java.time.Duration;

/**
 * How long procq waits on PostgreSQL, so that no thread waits on it without end: a silently
 * dropped network path (nothing is closed, no reset ever comes) ends in an error within these
 * bounds instead of holding a pooled connection forever.
 *
 * @param connect   TCP connect, and again for the login that follows it
 * @param statement {@code statement_timeout} of every statement, enforced by the server
 * @param lock      {@code lock_timeout}: how long a statement may queue behind another's row or
 *                  table lock before it fails and is retried
 */
public record DatabaseTimeouts(Duration connect, Duration statement, Duration lock) {
    public static final DatabaseTimeouts DEFAULT =
            new DatabaseTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(5));
    /**
     * How much longer than {@link #statement} the client waits for a reply. A statement the server
     * is still running ends by its own timeout first, with a clear error; a reply later than that
     * means the server or the path to it is gone.
     */
    public static final Duration SOCKET_SLACK = Duration.ofSeconds(5);

    /** The client-side read timeout: the server's own limit, then some. */
    public Duration socket() {
        return statement.plus(SOCKET_SLACK);
    }

    /**
     * Bounds for a connection whose every statement must answer within {@code limit} or be given
     * up (lease renewal): connect, statement and lock timeouts no longer than that. The client's
     * read timeout still adds {@link #SOCKET_SLACK}, in whole seconds.
     */
    public DatabaseTimeouts atMost(Duration limit) {
        return new DatabaseTimeouts(shorter(connect, limit), shorter(statement, limit), shorter(lock, limit));
    }

    private static Duration shorter(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** The startup {@code options} that set both server-side limits for every statement of a session. */
    public String serverOptions() {
        return "-c statement_timeout=" + statement.toMillis() + " -c lock_timeout=" + lock.toMillis();
    }

    /** Whole seconds, at least one: pgjdbc's timeouts are in seconds, and 0 there means none. */
    public static String seconds(Duration duration) {
        return Long.toString(Math.max(1, (duration.toMillis() + 999) / 1000));
    }
}
