package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.config.DatabaseTimeouts;
import dev.procq.config.JobTypes;
import dev.procq.store.ClaimedJob;
import dev.procq.store.JobDao;
import dev.procq.store.WorkerDao;
import dev.procq.testing.PostgresExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The lease keeper against a real database: it renews a lease granted a while ago, and leaves a
 * lease granted less than half a renewal interval ago to the next renewal, so a short job's row
 * is never locked by a renewal while the round trip writes its result.
 */
class LeaseKeeperTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final LeaseTerms TERMS = new LeaseTerms(Duration.ofSeconds(15), Duration.ofSeconds(5));

    @Test
    void renewsALeaseGrantedAWhileAgoAndLeavesAFreshOneToTheNextRenewal() {
        Jdbi jdbi = postgres.database().jdbi();
        String type = "k" + System.nanoTime();
        long worker = jdbi.withExtension(WorkerDao.class, dao -> dao.register("test-host", 1, 2, new String[] {type}));
        jdbi.useHandle(h -> {
            long batch = h.createQuery("INSERT INTO procq.batch (type, total) VALUES (:t, 2) RETURNING id")
                    .bind("t", type).mapTo(Long.class).one();
            h.execute("INSERT INTO procq.job (batch_id, type, target) VALUES (?, ?, 'a'), (?, ?, 'b')", batch, type, batch, type);
        });
        List<ClaimedJob> claimed = jdbi.withExtension(JobDao.class, dao -> dao.claimPending(type, 2, worker, 2_000));
        assertThat(claimed).hasSize(2);
        long now = System.nanoTime();
        long interval = TERMS.renewEvery().toNanos();
        // Granted one interval ago, and just now: their children's deadlines, as a claim sets them.
        HeldJob older = new HeldJob(claimed.get(0), TERMS.fenceAt(now - interval));
        HeldJob fresh = new HeldJob(claimed.get(1), TERMS.fenceAt(now));
        Map<Long, HeldJob> held = new ConcurrentHashMap<>(Map.of(older.job.id(), older, fresh.job.id(), fresh));
        OffsetDateTime olderLease = lease(jdbi, older.job.id());
        OffsetDateTime freshLease = lease(jdbi, fresh.job.id());

        JobTypes types = JobTypes.parse("types:\n  " + type + ":\n    command: [\"true\", \"{target}\"]\n", "test");
        WorkerMetrics metrics = new WorkerMetrics(new SimpleMeterRegistry(), () -> 1, t -> 1, new LiveTypes(jdbi, types));
        try (LeaseKeeper keeper = new LeaseKeeper(postgres.database().singleConnection("lease", DatabaseTimeouts.DEFAULT),
                worker, TERMS, held, metrics, () -> null)) {
            assertThat(keeper.runOnce()).as("jobs found lost").isZero();
        }

        assertThat(lease(jdbi, older.job.id())).isAfter(olderLease);
        assertThat(older.pastDeadline()).isFalse();
        assertThat(lease(jdbi, fresh.job.id())).as("the fresh lease, left to the next renewal").isEqualTo(freshLease);
        assertThat(older.stopCause).isNull();
        assertThat(fresh.stopCause).as("left out, not lost").isNull();
        // Half an interval on, the fresh one is renewed too.
        assertThat(TERMS.freshAt(TERMS.fenceAt(now), now + interval / 2 + 1)).isFalse();
        assertThat(TERMS.freshAt(TERMS.fenceAt(now), now + interval / 2 - 1_000_000)).isTrue();
    }

    static OffsetDateTime lease(Jdbi jdbi, long job) {
        return jdbi.withHandle(h -> h.createQuery("SELECT lease_expires_at FROM procq.job WHERE id = :j")
                .bind("j", job).mapTo(OffsetDateTime.class).one());
    }
}
