package dev.procq.worker;

import dev.procq.config.Durations;
import dev.procq.store.AdvisoryLockDao;
import dev.procq.store.BatchDao;
import dev.procq.store.JobDao;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.HandleCallback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retention: deletes batches that finished longer than PROCQ_RETENTION ago, with their jobs and
 * attempts, so the tables stay small. Every worker runs one; an advisory lock lets only one of
 * them prune at a time. Jobs go in statements of {@link #JOBS_PER_STATEMENT} rows, each its own
 * transaction, so pruning a million-target batch never holds long locks or writes one huge
 * transaction; the batch row goes last, once it has no jobs left.
 *
 * <p>The lock is taken again in each of those transactions and ends with it, so no lock outlives
 * its transaction on a connection (behind PgBouncer in transaction mode, a session-level lock
 * would stay with a server session that then serves other clients). A worker that finds the lock
 * taken at its first step skips the run; one that finds it taken later stops, leaving the rest to
 * the worker that holds it.
 */
final class Pruner {
    /** After the worker starts, before the first run. */
    static final Duration FIRST_RUN_DELAY = Duration.ofSeconds(2);
    /** Between runs when the last one caught up. */
    static final Duration INTERVAL = Duration.ofMinutes(1);
    /** Between runs while old batches are left over from the last one. */
    static final Duration INTERVAL_WHEN_BEHIND = Duration.ofSeconds(1);
    static final int JOBS_PER_STATEMENT = 5_000;
    static final int JOBS_PER_RUN = 100_000;
    static final int BATCHES_PER_RUN = 1_000;
    /** pg_try_advisory_xact_lock key held by each pruning transaction: the bytes of "procqPRU". */
    static final long LOCK_KEY = 0x7072_6f63_7150_5255L;
    private static final Logger log = LoggerFactory.getLogger(Pruner.class);

    private final Jdbi jdbi;
    private final Duration retention;
    private final int jobsPerStatement;
    private final int jobsPerRun;

    Pruner(Jdbi jdbi, Duration retention) {
        this(jdbi, retention, JOBS_PER_STATEMENT, JOBS_PER_RUN);
    }

    Pruner(Jdbi jdbi, Duration retention, int jobsPerStatement, int jobsPerRun) {
        if (jobsPerStatement <= 0 || jobsPerRun < jobsPerStatement) {
            throw new IllegalArgumentException("need 0 < jobsPerStatement <= jobsPerRun");
        }
        this.jdbi = jdbi;
        this.retention = retention;
        this.jobsPerStatement = jobsPerStatement;
        this.jobsPerRun = jobsPerRun;
    }

    /**
     * What one run did.
     *
     * @param skipped true when another worker held the lock, so this one did nothing
     * @param behind  true when old batches are left for the next run
     */
    record Result(boolean skipped, int batches, long jobs, boolean behind) {
        static final Result SKIPPED = new Result(true, 0, 0, false);
    }

    /** Prunes up to {@link #JOBS_PER_RUN} jobs, unless another worker is pruning right now. */
    Result runOnce() {
        Result result = prune();
        if (result.batches() > 0 || result.jobs() > 0) {
            log.info("pruned {} batches and {} jobs finished more than {} ago{}", result.batches(), result.jobs(),
                    Durations.format(retention), result.behind() ? "; more to do" : "");
        }
        return result;
    }

    /** When to run next: soon while behind, else after {@link #INTERVAL}. */
    static Duration delayAfter(Result result) {
        return result.behind() ? INTERVAL_WHEN_BEHIND : INTERVAL;
    }

    private Result prune() {
        long ageMillis = retention.toMillis();
        Optional<List<Long>> found = inTurn(handle -> handle.attach(BatchDao.class).findFinishedBefore(ageMillis, BATCHES_PER_RUN));
        if (found.isEmpty()) return Result.SKIPPED;
        List<Long> old = found.get();
        int batchesDeleted = 0;
        long jobsDeleted = 0;
        for (long batchId : old) {
            while (true) {
                int limit = (int) Math.min(jobsPerStatement, jobsPerRun - jobsDeleted);
                if (limit == 0) return new Result(false, batchesDeleted, jobsDeleted, true);
                Optional<Integer> deleted = inTurn(handle ->
                        handle.attach(JobDao.class).deleteFinishedOfBatch(batchId, ageMillis, limit));
                if (deleted.isEmpty()) return new Result(false, batchesDeleted, jobsDeleted, true);
                jobsDeleted += deleted.get();
                if (deleted.get() < limit) break;
            }
            Optional<Integer> batchDeleted = inTurn(handle ->
                    handle.attach(BatchDao.class).deleteIfEmptyAndFinishedBefore(batchId, ageMillis));
            if (batchDeleted.isEmpty()) return new Result(false, batchesDeleted, jobsDeleted, true);
            batchesDeleted += batchDeleted.get();
        }
        return new Result(false, batchesDeleted, jobsDeleted, old.size() == BATCHES_PER_RUN);
    }

    /** One step in a transaction of its own that holds the prune lock; empty when another worker holds it. */
    private <T> Optional<T> inTurn(HandleCallback<T, RuntimeException> step) {
        return jdbi.inTransaction(handle -> handle.attach(AdvisoryLockDao.class).tryLockForTransaction(LOCK_KEY)
                ? Optional.of(step.withHandle(handle))
                : Optional.empty());
    }
}
