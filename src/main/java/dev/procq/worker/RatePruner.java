package dev.procq.worker;

import dev.procq.store.JobRateDao;
import java.time.Duration;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps procq.job_rate small: the claim statement writes one row per key of a type with a keyRate
 * that has started a job, and a health check over millions of hosts would otherwise keep a row
 * per host forever. A row whose next start has passed holds nothing back (the claim reads it as
 * if it were missing, and writes it afresh at the next start), so deleting it changes no claim.
 * Every worker runs one; the statement's SKIP LOCKED keeps them, and the claims, out of each
 * other's way.
 */
final class RatePruner {
    /** After the worker starts, before the first run. */
    static final Duration FIRST_RUN_DELAY = Duration.ofSeconds(5);
    static final Duration INTERVAL = Duration.ofMinutes(1);
    /** Between runs while rows are left over from the last one. */
    static final Duration INTERVAL_WHEN_BEHIND = Duration.ofSeconds(1);
    /**
     * How long past its next start a row is kept. Any past row could go; the minute spares the
     * rows of keys that start jobs every few seconds from being deleted and written again each run.
     */
    static final Duration KEPT_AFTER_NEXT_START = Duration.ofMinutes(1);
    static final int ROWS_PER_RUN = 10_000;
    private static final Logger log = LoggerFactory.getLogger(RatePruner.class);

    private final Jdbi jdbi;

    RatePruner(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** Deletes up to {@link #ROWS_PER_RUN} rows that hold nothing back; returns how long to wait before the next run. */
    Duration runOnce() {
        int deleted = jdbi.withExtension(JobRateDao.class,
                dao -> dao.deletePassedBefore(KEPT_AFTER_NEXT_START.toMillis(), ROWS_PER_RUN));
        if (deleted > 0) log.info("deleted {} rate rows whose next start passed more than a minute ago", deleted);
        return deleted < ROWS_PER_RUN ? INTERVAL : INTERVAL_WHEN_BEHIND;
    }
}
