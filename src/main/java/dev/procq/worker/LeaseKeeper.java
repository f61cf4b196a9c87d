package dev.procq.worker;

import dev.procq.store.JobDao;
import dev.procq.store.SingleConnection;
import dev.procq.store.WorkerDao;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renews every lease this worker holds in one statement, on a thread and a connection of its
 * own, so a renewal never waits behind a claim, a prune, an orphan sweep or an intake. Each
 * renewal that succeeds moves the deadline of every renewed job's child (see {@link LeaseTerms});
 * when renewals fail, nothing moves and the children end before their leases can. Jobs that
 * turn out to be lost (rescued elsewhere, cancelled, finished) have their children stopped.
 */
final class LeaseKeeper implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LeaseKeeper.class);

    private final SingleConnection connection;
    private final Jdbi jdbi;
    private final long workerId;
    private final LeaseTerms terms;
    private final Map<Long, HeldJob> held;
    private final WorkerMetrics metrics;
    private final ScheduledExecutorService thread;
    private int failuresInARow;

    /**
     * @param connection a connection of its own, bounded by {@link LeaseTerms#window()}: a renewal
     *     slower than that is of no use
     */
    /**
     * Why the worker holds new starts (see {@link HostGate}; null: it does not), written to its
     * row after a renewal when it changed: a statement of its own, so that a database role not
     * yet granted the column (db/ops/roles.sql not re-run after the migration) costs the workers
     * page its hold, never a lease.
     */
    private final Supplier<String> hostHold;
    private String hostHoldWritten;
    private boolean hostHoldFailed;

    LeaseKeeper(SingleConnection connection, long workerId, LeaseTerms terms, Map<Long, HeldJob> held,
                WorkerMetrics metrics, Supplier<String> hostHold) {
        this.connection = connection;
        this.hostHold = hostHold;
        this.jdbi = connection.jdbi();
        this.workerId = workerId;
        this.terms = terms;
        this.held = held;
        this.metrics = metrics;
        this.thread = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread renewer = new Thread(runnable, "procq-lease");
            renewer.setDaemon(true);
            return renewer;
        });
    }

    LeaseKeeper start() {
        long every = terms.renewEvery().toNanos();
        // At a fixed rate: a slow renewal is followed by the next at once, not a whole interval later.
        thread.scheduleAtFixedRate(this::renewQuietly, every, every, TimeUnit.NANOSECONDS);
        return this;
    }

    private void renewQuietly() {
        try {
            runOnce();
            if (failuresInARow > 0) log.info("leases renewed again after {} failed renewal(s)", failuresInARow);
            failuresInARow = 0;
        } catch (Throwable e) {
            // Whatever broke, the next renewal starts on a fresh connection, at once.
            connection.discard();
            metrics.renewalFailed();
            if (failuresInARow++ == 0) {
                log.warn("cannot renew leases ({}); children whose lease cannot be renewed in time will be ended"
                        + " {} before it runs out", e.getMessage(), Duration.ofNanos(terms.lease().toNanos()
                        - terms.window().toNanos()));
            }
        }
    }

    /** Renews; returns the number of jobs found lost. */
    int runOnce() {
        // Exactly the jobs this worker knows it runs: a RUNNING row it has lost track of (a claim
        // whose launch failed unexpectedly) expires and is rescued instead of being renewed forever.
        // A lease granted less than half an interval ago waits for the next renewal (LeaseTerms.freshAt).
        // Before anything goes out: the server's now() for this renewal is later than this.
        long sentAt = System.nanoTime();
        List<HeldJob> judged = held.values().stream().filter(job -> !job.leaseFresh(terms, sentAt)).toList();
        Long[] ids = judged.stream().map(job -> job.job.id()).toArray(Long[]::new);
        // Short jobs are never renewed: then the heartbeat goes alone.
        List<JobDao.LeaseRenewal> stillHeld = jdbi.inTransaction(handle -> {
            handle.attach(WorkerDao.class).heartbeat(workerId);
            return ids.length == 0 ? List.of() : handle.attach(JobDao.class).renewLeases(workerId, ids, terms.lease().toMillis());
        });
        // Job id to renewed (true) or held but passed over (false); a judged job missing was lost.
        Map<Long, Boolean> answer = new HashMap<>();
        for (JobDao.LeaseRenewal row : stillHeld) answer.put(row.id(), row.renewed());
        int lost = 0;
        for (HeldJob job : judged) {
            Boolean renewed = answer.get(job.job.id());
            if (Boolean.TRUE.equals(renewed)) {
                job.renewed(terms, sentAt);
            } else if (renewed != null) {
                // Held, its row locked by another statement (most often this worker's round trip
                // writing its result): its lease stands as it was, and the next renewal tries again.
                metrics.renewalSkipped();
            } else if (job.stopCause == null && !job.ended) {
                // An ended job's result may just have been written, taking it out of RUNNING: not a loss.
                lost++;
                log.warn("lost the lease on job {} (target {}); stopping its child", job.job.id(), job.job.target());
                job.stop(HeldJob.StopCause.LEASE_LOST, "lease lost");
            }
        }
        writeHostHoldIfChanged();
        return lost;
    }

    private void writeHostHoldIfChanged() {
        String hold = hostHold.get();
        if (java.util.Objects.equals(hold, hostHoldWritten)) return;
        try {
            jdbi.useExtension(WorkerDao.class, dao -> dao.setHostHold(workerId, hold));
            hostHoldWritten = hold;
        } catch (RuntimeException e) {
            if (!hostHoldFailed) log.warn("cannot record the host hold in procq.worker (is db/ops/roles.sql re-run?): {}", e.getMessage());
            hostHoldFailed = true;
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
        connection.close();
    }
}
