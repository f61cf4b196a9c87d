package dev.procq.config;

import java.time.Duration;

/**
 * How long and how slowly a client may take to send a submission, and how many it may send at
 * once. A submission holds a database connection (its COPY) from its first byte to its last, so
 * a client that trickles, or opens many at once, would otherwise keep the pool from everyone else.
 *
 * @param minBytes   a submission must send at least this many bytes in every {@code window} the
 *                   server spends waiting for it (PROCQ_SUBMISSION_MIN_BYTES)
 * @param window     see {@code minBytes} (PROCQ_SUBMISSION_WINDOW); also the longest the server
 *                   waits for a next byte at all
 * @param timeout    the longest a whole submission body may take (PROCQ_SUBMISSION_TIMEOUT)
 * @param perClient  submissions one client (a token, or a remote address without tokens) may have
 *                   open at once (PROCQ_SUBMISSIONS_PER_CLIENT)
 */
public record SubmissionLimits(long minBytes, Duration window, Duration timeout, int perClient) {
    /** About 100 bytes a second: far below any real client, far above one byte a second. */
    public static final long DEFAULT_MIN_BYTES = 1024;
    public static final Duration DEFAULT_WINDOW = Duration.ofSeconds(10);
    /** 5,000,000 short targets (about 60 MB) take well under a minute on a LAN. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
    /** Of the default pool of 10 connections, one client can hold at most 4. */
    public static final int DEFAULT_PER_CLIENT = 4;

    public static final SubmissionLimits DEFAULT =
            new SubmissionLimits(DEFAULT_MIN_BYTES, DEFAULT_WINDOW, DEFAULT_TIMEOUT, DEFAULT_PER_CLIENT);
}
