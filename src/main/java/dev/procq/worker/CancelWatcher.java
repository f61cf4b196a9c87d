package dev.procq.worker;

import dev.procq.store.BatchDao;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Stops the running children of batches whose cancel was requested: every second, and at once on a notification. */
final class CancelWatcher implements Maintenance.Task {
    static final Duration INTERVAL = Duration.ofSeconds(1);
    private static final Logger log = LoggerFactory.getLogger(CancelWatcher.class);

    private final Jdbi jdbi;
    private final long workerId;
    private final Map<Long, HeldJob> held;

    CancelWatcher(Jdbi jdbi, long workerId, Map<Long, HeldJob> held) {
        this.jdbi = jdbi;
        this.workerId = workerId;
        this.held = held;
    }

    @Override
    public String name() {
        return "cancel check";
    }

    @Override
    public Duration runOnce() {
        stopCancelled();
        return INTERVAL;
    }

    /** Stops running children of batches whose cancel was requested; returns how many. */
    int stopCancelled() {
        List<Long> batches = jdbi.withExtension(BatchDao.class, dao -> dao.cancelledWithRunningJobsOf(workerId));
        if (batches.isEmpty()) return 0;
        Set<Long> cancelled = new HashSet<>(batches);
        int stopped = 0;
        for (HeldJob job : held.values()) {
            if (cancelled.contains(job.job.batchId()) && job.stopCause == null) {
                job.stop(HeldJob.StopCause.CANCELLED, "cancelled");
                stopped++;
            }
        }
        if (stopped > 0) log.info("stopped {} running jobs of cancelled batches {}", stopped, cancelled);
        return stopped;
    }
}
