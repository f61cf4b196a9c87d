package dev.procq.worker;

import dev.procq.config.Durations;
import dev.procq.store.AdvisoryLockDao;
import dev.procq.store.BatchDao;
import dev.procq.store.JobDao;
import java.time.Duration;
import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retention: deletes batches that finished longer than PROCQ_RETENTION ago, with their jobs and
 * attempts, so the tables stay small. Every worker runs one; an advisory lock lets only one of
 * them prune at a time. Jobs go in statements of {@link #JOBS_PER_STATEMENT} rows, each its own
 * transaction, so pruning a million-target batch never holds long locks or writes one huge
 * transaction; the batch row goes last, once it has no jobs left.
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
    /** pg_try_advisory_lock key held while pruning: the bytes of "procqPRU". */
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
        Result result = jdbi.withHandle(handle -> {
            AdvisoryLockDao lock = handle.attach(AdvisoryLockDao.class);
            if (!lock.tryLock(LOCK_KEY)) return Result.SKIPPED;
            try {
                return prune(handle);
            } finally {
                lock.unlock(LOCK_KEY);
            }
        });
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

    private Result prune(Handle handle) {
        long ageMillis = retention.toMillis();
        BatchDao batches = handle.attach(BatchDao.class);
        JobDao jobs = handle.attach(JobDao.class);
        List<Long> old = batches.findFinishedBefore(ageMillis, BATCHES_PER_RUN);
        int batchesDeleted = 0;
        long jobsDeleted = 0;
        for (long batchId : old) {
            while (true) {
                int limit = (int) Math.min(jobsPerStatement, jobsPerRun - jobsDeleted);
                if (limit == 0) return new Result(false, batchesDeleted, jobsDeleted, true);
                int deleted = jobs.deleteFinishedOfBatch(batchId, ageMillis, limit);
                jobsDeleted += deleted;
                if (deleted < limit) break;
            }
            batchesDeleted += batches.deleteIfEmptyAndFinishedBefore(batchId, ageMillis);
        }
        return new Result(false, batchesDeleted, jobsDeleted, old.size() == BATCHES_PER_RUN);
    }
}
