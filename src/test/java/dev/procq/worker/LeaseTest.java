package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procq.store.AttemptResult;
import dev.procq.store.ClaimRoundTrip;
import dev.procq.store.ClaimedJob;
import dev.procq.store.JobDao;
import dev.procq.store.JobDao.FinishedOrClaimed;
import dev.procq.store.JobState;
import dev.procq.store.Outcome;
import dev.procq.store.WorkerDao;
import dev.procq.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.postgres.PostgresPlugin;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The lease rules in the database itself: rescue of expired leases only, fenced writes, lost-lease limits. */
class LeaseTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final Duration LEASE = Duration.ofSeconds(2);

    Jdbi jdbi;
    String type;

    @BeforeEach
    void setUp() {
        jdbi = postgres.database().jdbi();
        // A type of its own per test, so one test's jobs are never claimed by another.
        type = "t" + System.nanoTime();
    }

    long worker() {
        return jdbi.withExtension(WorkerDao.class, dao -> dao.register("test-host", 1, 1, new String[] {type}));
    }

    long job() {
        return jdbi.withHandle(h -> {
            long batch = h.createQuery("INSERT INTO procq.batch (type, total) VALUES (:t, 1) RETURNING id")
                    .bind("t", type).mapTo(Long.class).one();
            return h.createQuery("INSERT INTO procq.job (batch_id, type, target) VALUES (:b, :t, 'x') RETURNING id")
                    .bind("b", batch).bind("t", type).mapTo(Long.class).one();
        });
    }

    ClaimedJob claim(long worker) {
        List<ClaimedJob> claimed = jdbi.withExtension(JobDao.class, dao -> dao.claimPending(type, 1, worker, LEASE.toMillis()));
        assertThat(claimed).hasSize(1);
        return claimed.get(0);
    }

    void expire(long job) {
        jdbi.useHandle(h -> h.execute("UPDATE procq.job SET lease_expires_at = now() - interval '1 second' WHERE id = ?", job));
    }

    Map<String, Object> row(long job) {
        return jdbi.withHandle(h -> h.createQuery("SELECT state, attempts, max_attempts, worker_id, error FROM procq.job WHERE id = :j")
                .bind("j", job).mapToMap().one());
    }

    /** One renewal, which must answer within 5 s: it never waits for a row another statement holds. */
    List<JobDao.LeaseRenewal> renew(long worker, long... jobs) {
        Long[] ids = java.util.Arrays.stream(jobs).boxed().toArray(Long[]::new);
        return jdbi.inTransaction(h -> {
            h.execute("SET LOCAL statement_timeout = '5s'");
            return h.attach(JobDao.class).renewLeases(worker, ids, LEASE.toMillis());
        });
    }

    OffsetDateTime leaseExpiresAt(long job) {
        return jdbi.withHandle(h -> h.createQuery("SELECT lease_expires_at FROM procq.job WHERE id = :j")
                .bind("j", job).mapTo(OffsetDateTime.class).one());
    }

    List<Long> finishOk(long worker, ClaimedJob job) {
        AttemptResult ok = new AttemptResult(job.id(), job.attempt(), JobState.OK, Outcome.OK, 0, null, null, "tail",
                OffsetDateTime.now(), Duration.ofMillis(1), Duration.ZERO, false, null, null, null, "ok: exit 0");
        return new ClaimRoundTrip(jdbi, worker, LEASE.toMillis(), 1).run(List.of(ok), new String[0], new Integer[0], 0)
                .stream().map(FinishedOrClaimed::id).toList();
    }

    @Test
    void rescuerIgnoresFreshLeasesAndReturnsExpiredOnesAsANewAttempt() {
        long holder = worker();
        long fresh = job();
        claim(holder);
        Rescuer rescuer = new Rescuer(jdbi, Duration.ZERO);
        assertThat(rescuer.runOnce()).doesNotContain(fresh);

        expire(fresh);
        assertThat(rescuer.runOnce()).containsExactly(fresh);

        assertThat(row(fresh)).containsEntry("state", "PENDING").containsEntry("attempts", 1)
                .containsEntry("max_attempts", 2);
        Map<String, Object> attempt = jdbi.withHandle(h -> h.createQuery(
                "SELECT attempt, outcome, worker_id FROM procq.job_attempt WHERE job_id = :j").bind("j", fresh).mapToMap().one());
        assertThat(attempt).containsEntry("attempt", 1).containsEntry("outcome", "LEASE_EXPIRED").containsEntry("worker_id", holder);
    }

    @Test
    void aWorkerThatLostTheJobCannotWriteItsResultNorOverwriteTheNewHolders() {
        long first = worker();
        long second = worker();
        long id = job();
        ClaimedJob lost = claim(first);
        expire(id);
        new Rescuer(jdbi, Duration.ZERO).runOnce();
        ClaimedJob current = claim(second);
        assertThat(current.attempt()).isEqualTo(2);

        assertThat(finishOk(first, lost)).isEmpty();
        assertThat(row(id)).containsEntry("state", "RUNNING").containsEntry("worker_id", second);

        assertThat(finishOk(second, current)).containsExactly(id);
        assertThat(finishOk(first, lost)).isEmpty();
        assertThat(finishOk(second, current)).as("a final state is never written twice").isEmpty();
        assertThat(row(id)).containsEntry("state", "OK").containsEntry("worker_id", second);
        // The renewal of the worker that lost it does not bring it back either.
        assertThat(renew(first, id)).isEmpty();
    }

    @Test
    void renewalExtendsOnlyTheJobsTheWorkerStillKnowsItRuns() {
        long holder = worker();
        long known = job();
        claim(holder);
        long forgotten = job();
        claim(holder);
        expire(known);
        expire(forgotten);

        assertThat(renew(holder, known)).containsExactly(new JobDao.LeaseRenewal(known, true));
        List<Long> rescued = new Rescuer(jdbi, Duration.ZERO).runOnce();
        assertThat(rescued).contains(forgotten).doesNotContain(known);
    }

    @Test
    void aRenewalPassesOverARowAnotherStatementHoldsAndAnswersItHeldNotRenewed() {
        long holder = worker();
        long busy = job();
        claim(holder);
        long free = job();
        claim(holder);
        OffsetDateTime busyLease = leaseExpiresAt(busy);
        OffsetDateTime freeLease = leaseExpiresAt(free);
        // Another transaction holds the row, as the worker's own round trip does while it writes a result.
        try (var other = jdbi.open()) {
            other.begin();
            other.execute("SELECT id FROM procq.job WHERE id = ? FOR UPDATE", busy);

            assertThat(renew(holder, busy, free)).containsExactlyInAnyOrder(
                    new JobDao.LeaseRenewal(busy, false), new JobDao.LeaseRenewal(free, true));
            assertThat(leaseExpiresAt(busy)).as("left as it was").isEqualTo(busyLease);
            assertThat(leaseExpiresAt(free)).isAfter(freeLease);
            other.rollback();
        }
        assertThat(renew(holder, busy)).containsExactly(new JobDao.LeaseRenewal(busy, true));
        assertThat(leaseExpiresAt(busy)).isAfter(busyLease);
    }

    @Test
    void theThirdLostLeaseFailsTheTarget() {
        long id = job();
        Rescuer rescuer = new Rescuer(jdbi, Duration.ZERO);
        for (int loss = 1; loss <= Rescuer.MAX_LOST_LEASES; loss++) {
            claim(worker());
            expire(id);
            assertThat(rescuer.runOnce()).containsExactly(id);
        }
        assertThat(row(id)).containsEntry("state", "FAILED").containsEntry("attempts", 3)
                .containsEntry("error", "worker lost 3 times while running this target");
    }

    @Test
    void afterItsOwnOutageTheRescuerWaitsALeaseBeforeRescuing() {
        long id = job();
        claim(worker());
        expire(id);
        // The same real database, reached through a connection the test can cut.
        AtomicBoolean cut = new AtomicBoolean(true);
        Jdbi switchable = Jdbi.create(() -> {
            if (cut.get()) throw new SQLException("Connection refused", "08001");
            return postgres.database().dataSource().getConnection();
        }).installPlugin(new SqlObjectPlugin()).installPlugin(new PostgresPlugin());
        Duration settle = Duration.ofSeconds(1);
        Rescuer rescuer = new Rescuer(switchable, settle);
        assertThatThrownBy(rescuer::runOnce).hasMessageContaining("Connection refused");

        cut.set(false);
        long back = System.nanoTime();
        assertThat(rescuer.runOnce()).as("the holder may be alive and not yet have renewed").isEmpty();
        org.awaitility.Awaitility.await().atMost(settle.plusSeconds(3)).pollInterval(Duration.ofMillis(200))
                .until(() -> rescuer.runOnce().contains(id));
        assertThat(System.nanoTime() - back).isGreaterThanOrEqualTo(settle.toNanos());
    }

    @Test
    void noRescueWithinALeaseOfThePostgresServerStart() {
        long id = job();
        claim(worker());
        expire(id);
        long serverAgeMillis = jdbi.withHandle(h -> h.createQuery(
                "SELECT (extract(epoch FROM now() - pg_postmaster_start_time()) * 1000)::bigint").mapTo(Long.class).one());
        // As if the server had started less than a lease ago: nobody could renew, so nothing is rescued.
        List<Long> tooSoon = jdbi.withExtension(JobDao.class, dao -> dao.rescueExpiredLeases(10, 3, true, serverAgeMillis + 60_000));
        assertThat(tooSoon).isEmpty();
        List<Long> rescued = jdbi.withExtension(JobDao.class, dao -> dao.rescueExpiredLeases(10, 3, true, 0));
        assertThat(rescued).containsExactly(id);
    }
}
