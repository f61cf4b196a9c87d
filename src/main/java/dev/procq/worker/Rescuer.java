package dev.procq.worker;

import dev.procq.store.JobDao;
import java.time.Duration;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Returns jobs whose lease ran out (their worker was killed, its host vanished, its network
 * was cut) to PENDING as a new attempt. Every worker runs one; SKIP LOCKED keeps them from
 * rescuing the same job twice.
 *
 * <p>A lease that ran out while PostgreSQL itself was away says nothing about its holder: no
 * worker could renew. So after the database comes back, whether this rescuer saw it go (its
 * own statements failed) or not (the server restarted between two runs, or a standby was
 * promoted: the rescue statement tells by the server's start and by its timeline), it waits
 * one lease plus {@link #RECONNECT_MARGIN} before rescuing anything, and the holders that are
 * alive reconnect and renew first.
 */
final class Rescuer {
    static final Duration INTERVAL = Duration.ofSeconds(2);
    static final int BATCH = 1000;
    /** A target whose worker is lost this many times is FAILED: it may be what kills its workers. */
    static final int MAX_LOST_LEASES = 3;
    /**
     * How long a live holder may need to get a connection again after an outage: the pool's
     * connection timeout (3 s) plus its back-off between attempts. Its next renewal follows
     * within a third of its lease.
     */
    static final Duration RECONNECT_MARGIN = Duration.ofSeconds(5);
    private static final Logger log = LoggerFactory.getLogger(Rescuer.class);

    private final Jdbi jdbi;
    private final Duration settleAfterOutage;
    /** System.nanoTime() of the first success after a failure; 0 while the database is up since start. */
    private long reconnectedAtNanos;
    private boolean outage;

    /** @param settleAfterOutage how long holders get to renew after an outage before anything is rescued */
    Rescuer(Jdbi jdbi, Duration settleAfterOutage) {
        this.jdbi = jdbi;
        this.settleAfterOutage = settleAfterOutage;
    }

    /** The rescuer of a worker whose own lease is {@code lease}. */
    static Rescuer forLease(Jdbi jdbi, Duration lease) {
        return new Rescuer(jdbi, lease.plus(RECONNECT_MARGIN));
    }

    /** Rescues at most one batch of expired leases; returns the jobs rescued. */
    List<Long> runOnce() {
        boolean settled = !outage
                && (reconnectedAtNanos == 0 || System.nanoTime() - reconnectedAtNanos >= settleAfterOutage.toNanos());
        List<Long> rescued;
        try {
            rescued = jdbi.withExtension(JobDao.class,
                    dao -> dao.rescueExpiredLeases(BATCH, MAX_LOST_LEASES, settled, settleAfterOutage.toMillis()));
        } catch (RuntimeException e) {
            outage = true;
            throw e;
        }
        if (outage) {
            outage = false;
            reconnectedAtNanos = System.nanoTime();
            log.info("database reachable again; rescuing expired leases from {} on, once live holders had a chance to renew",
                    settleAfterOutage);
        }
        if (!rescued.isEmpty()) {
            log.info("rescued {} jobs whose lease expired: {}", rescued.size(),
                    rescued.size() <= 20 ? rescued : rescued.subList(0, 20) + "...");
        }
        return rescued;
    }
}
