package dev.procq.worker;

import dev.procq.store.BatchDao;
import dev.procq.store.JobDao;
import dev.procq.store.WorkerDao;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renews every lease this worker holds in one statement, and stops the children of jobs it
 * turns out to have lost (rescued elsewhere after a long pause or a network cut) or whose
 * batch was cancelled.
 */
final class LeaseKeeper {
    private static final Logger log = LoggerFactory.getLogger(LeaseKeeper.class);

    private final Jdbi jdbi;
    private final long workerId;
    private final Duration lease;
    private final Map<Long, HeldJob> held;

    LeaseKeeper(Jdbi jdbi, long workerId, Duration lease, Map<Long, HeldJob> held) {
        this.jdbi = jdbi;
        this.workerId = workerId;
        this.lease = lease;
        this.held = held;
    }

    /** How often to renew: three chances before a lease runs out. */
    Duration interval() {
        return lease.dividedBy(3);
    }

    /** Renews; returns the number of jobs found lost. */
    int runOnce() {
        // Exactly the jobs this worker knows it runs: a RUNNING row it has lost track of (a claim
        // whose launch failed unexpectedly) expires and is rescued instead of being renewed forever.
        List<HeldJob> judged = List.copyOf(held.values());
        Long[] ids = judged.stream().map(job -> job.job.id()).toArray(Long[]::new);
        List<Long> stillHeld = jdbi.inTransaction(handle -> {
            handle.attach(WorkerDao.class).heartbeat(workerId);
            return handle.attach(JobDao.class).renewLeases(workerId, ids, lease.toMillis());
        });
        Set<Long> renewed = new HashSet<>(stillHeld);
        int lost = 0;
        for (HeldJob job : judged) {
            // An ended job's result may just have been written, taking it out of RUNNING: not a loss.
            if (!renewed.contains(job.job.id()) && job.stopCause == null && !job.ended) {
                lost++;
                log.warn("lost the lease on job {} (target {}); stopping its child", job.job.id(), job.job.target());
                job.stop(HeldJob.StopCause.LEASE_LOST, "lease lost");
            }
        }
        return lost;
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
