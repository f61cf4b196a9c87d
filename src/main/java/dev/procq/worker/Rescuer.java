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
 */
final class Rescuer {
    static final Duration INTERVAL = Duration.ofSeconds(2);
    static final int BATCH = 1000;
    /** A target whose worker is lost this many times is FAILED: it may be what kills its workers. */
    static final int MAX_LOST_LEASES = 3;
    private static final Logger log = LoggerFactory.getLogger(Rescuer.class);

    private final Jdbi jdbi;

    Rescuer(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** Rescues at most one batch of expired leases; returns the jobs rescued. */
    List<Long> runOnce() {
        List<Long> rescued = jdbi.withExtension(JobDao.class, dao -> dao.rescueExpiredLeases(BATCH, MAX_LOST_LEASES));
        if (!rescued.isEmpty()) {
            log.info("rescued {} jobs whose lease expired: {}", rescued.size(),
                    rescued.size() <= 20 ? rescued : rescued.subList(0, 20) + "...");
        }
        return rescued;
    }
}
