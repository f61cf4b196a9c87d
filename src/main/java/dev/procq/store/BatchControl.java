package dev.procq.store;

import dev.procq.config.FailureBudget;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/** The operator's batch actions, each one transaction. */
public final class BatchControl {
    private final Jdbi jdbi;

    public BatchControl(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /**
     * PENDING jobs become CANCELLED now; workers holding RUNNING ones are told on the
     * notification channel and stop them. Empty if there is no such batch.
     */
    public Optional<BatchRow> cancel(long batchId) {
        return jdbi.inTransaction(handle -> {
            BatchDao batches = handle.attach(BatchDao.class);
            if (batches.find(batchId).isEmpty()) return Optional.empty();
            // Jobs first, then the batch row: the same lock order as claims and completions.
            handle.attach(JobDao.class).cancelPendingOfBatch(batchId);
            batches.requestCancel(batchId);
            JobNotifications.notifyCancel(handle, batchId);
            return batches.find(batchId);
        });
    }

    /**
     * FAILED jobs become PENDING with a fresh allowance of {@code maxAttempts}. The batch's cancel
     * flag is cleared so its state follows its jobs again; CANCELLED jobs stay cancelled.
     */
    public Optional<BatchRow> retry(long batchId, int maxAttempts) {
        return jdbi.inTransaction(handle -> {
            BatchDao batches = handle.attach(BatchDao.class);
            Optional<BatchRow> batch = batches.find(batchId);
            if (batch.isEmpty()) return Optional.empty();
            int requeued = handle.attach(JobDao.class).retryFailedOfBatch(batchId, maxAttempts);
            batches.clearCancel(batchId);
            if (requeued > 0) JobNotifications.notifyJobsAvailable(handle, batch.get().type());
            return batches.find(batchId);
        });
    }

    /**
     * Pauses the batch: no worker claims its jobs from its next claim on; running ones finish.
     * A batch that is DONE or CANCELLED is left as it is (the caller sees its state). Empty if
     * there is no such batch.
     */
    public Optional<BatchRow> pause(long batchId) {
        return jdbi.inTransaction(handle -> {
            BatchDao batches = handle.attach(BatchDao.class);
            if (batches.pause(batchId).isEmpty()) return Optional.empty();
            return batches.find(batchId);
        });
    }

    /**
     * Lifts a pause or a halt and wakes the workers; with a budget, the batch gets that one from now
     * on (null keeps its own). Lifting a halt restarts the budget's count. A batch that is DONE or
     * CANCELLED is left as it is. Empty if there is no such batch.
     */
    public Optional<BatchRow> resume(long batchId, FailureBudget budget) {
        return jdbi.inTransaction(handle -> {
            BatchDao batches = handle.attach(BatchDao.class);
            Optional<BatchRow> batch = batches.find(batchId);
            if (batch.isEmpty() || batch.get().isOver()) return batch;
            if (budget != null) {
                batches.setBudget(batchId, budget.failed(), budget.failedPercent(), budget.after(), budget.inARow());
            }
            batches.resume(batchId);
            return batches.find(batchId);
        });
    }
}
