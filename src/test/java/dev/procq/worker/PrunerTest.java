package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Retention removes finished batches older than the cutoff, with their jobs and attempts, and
 * nothing else; in small statements; one worker at a time. Batches are submitted through the
 * API, finished and aged with SQL; no worker runs here.
 */
class PrunerTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              echo:
                command: ["echo", "{target}"]
            """;
    static final Duration WEEK = Duration.ofDays(7);

    static Procq procq;
    static Jdbi jdbi;

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, TYPES, Map.of()).startApi();
        jdbi = procq.database().jdbi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @BeforeEach
    void empty() {
        jdbi.useHandle(handle -> handle.execute("DELETE FROM procq.batch"));
    }

    /** A batch whose jobs all ended in {@code state}, each with one attempt row, finished {@code ago}. */
    static long finished(String state, int jobs, String ago) {
        long id = procq.submit("echo", Collections.nCopies(jobs, "x"));
        jdbi.useHandle(handle -> {
            handle.execute("UPDATE procq.job SET state = ?, attempts = 1, finished_at = now() WHERE batch_id = ?", state, id);
            handle.execute("""
                    INSERT INTO procq.job_attempt (job_id, attempt, started_at, finished_at, outcome, duration_ms)
                    SELECT id, 1, now(), now(), CASE WHEN state = 'OK' THEN 'OK' ELSE 'FAILED' END, 5
                      FROM procq.job WHERE batch_id = ? AND state <> 'CANCELLED'""", id);
            handle.execute("UPDATE procq.batch SET finished_at = now() - ?::interval WHERE id = ?", ago, id);
        });
        return id;
    }

    static boolean exists(long batch) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT count(*) FROM procq.batch WHERE id = ?")
                .bind(0, batch).mapTo(Long.class).one()) == 1;
    }

    static long jobs(long batch) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT count(*) FROM procq.job WHERE batch_id = ?")
                .bind(0, batch).mapTo(Long.class).one());
    }

    static long attempts(long batch) {
        return jdbi.withHandle(handle -> handle.createQuery(
                "SELECT count(*) FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id WHERE j.batch_id = ?")
                .bind(0, batch).mapTo(Long.class).one());
    }

    @Test
    void removesOnlyFinishedBatchesOlderThanTheRetention() {
        long oldOk = finished("OK", 3, "8 days");
        long oldFailed = finished("FAILED", 2, "7 days 1 minute");
        long oldCancelled = procq.submit("echo", List.of("a", "b"));
        assertThat(procq.post("/api/v1/batches/" + oldCancelled + "/cancel", null, "", Map.of()).status()).isEqualTo(200);
        jdbi.useHandle(handle -> handle.execute(
                "UPDATE procq.batch SET finished_at = now() - interval '30 days' WHERE id = ?", oldCancelled));
        long recent = finished("OK", 2, "6 days 23 hours");
        // Unfinished batches never have finished_at (a CHECK sees to that), however old they are.
        long oldPending = procq.submit("echo", List.of("a", "b"));
        long oldRunning = procq.submit("echo", List.of("a", "b"));
        jdbi.useHandle(handle -> {
            long worker = handle.createQuery("INSERT INTO procq.worker (host, pid, concurrency, types) VALUES ('h', 1, 1, '{echo}') RETURNING id")
                    .mapTo(Long.class).one();
            handle.execute("""
                    UPDATE procq.job SET state = 'RUNNING', attempts = 1, worker_id = ?, started_at = now(),
                           lease_expires_at = now() + interval '1 hour'
                     WHERE id = (SELECT min(id) FROM procq.job WHERE batch_id = ?)""", worker, oldRunning);
            handle.execute("UPDATE procq.job SET state = 'OK', finished_at = now() WHERE batch_id = ? AND state = 'PENDING'", oldRunning);
            handle.execute("UPDATE procq.batch SET created_at = now() - interval '60 days' WHERE id IN (?, ?)", oldPending, oldRunning);
        });
        assertThat(attempts(oldOk)).isEqualTo(3);

        Pruner.Result result = new Pruner(jdbi, WEEK).runOnce();

        assertThat(result).isEqualTo(new Pruner.Result(false, 3, 7, false));
        for (long gone : List.of(oldOk, oldFailed, oldCancelled)) {
            assertThat(exists(gone)).as("batch %d", gone).isFalse();
            assertThat(jobs(gone)).isZero();
            assertThat(attempts(gone)).isZero();
        }
        assertThat(exists(recent)).isTrue();
        assertThat(jobs(recent)).isEqualTo(2);
        assertThat(attempts(recent)).isEqualTo(2);
        assertThat(exists(oldPending)).isTrue();
        assertThat(jobs(oldPending)).isEqualTo(2);
        assertThat(exists(oldRunning)).isTrue();
        assertThat(jobs(oldRunning)).isEqualTo(2);

        assertThat(new Pruner(jdbi, WEEK).runOnce()).as("nothing left to do").isEqualTo(new Pruner.Result(false, 0, 0, false));
    }

    @Test
    void aBigBatchGoesInSmallStatementsOverSeveralRuns() {
        long big = finished("OK", 1000, "10 days");
        Pruner pruner = new Pruner(jdbi, WEEK, 100, 300);

        Pruner.Result first = pruner.runOnce();

        assertThat(first).isEqualTo(new Pruner.Result(false, 0, 300, true));
        assertThat(Pruner.delayAfter(first)).isEqualTo(Pruner.INTERVAL_WHEN_BEHIND);
        assertThat(jobs(big)).isEqualTo(700);
        assertThat(exists(big)).as("the batch row goes last").isTrue();
        assertThat(pruner.runOnce().jobs()).isEqualTo(300);
        assertThat(pruner.runOnce().jobs()).isEqualTo(300);
        Pruner.Result last = pruner.runOnce();
        assertThat(last).isEqualTo(new Pruner.Result(false, 1, 100, false));
        assertThat(Pruner.delayAfter(last)).isEqualTo(Pruner.INTERVAL);
        assertThat(exists(big)).isFalse();
    }

    @Test
    void whileAnotherWorkerPrunesThisOneDoesNothing() {
        long old = finished("OK", 2, "8 days");
        try (Handle other = jdbi.open()) {
            other.createQuery("SELECT pg_advisory_lock(:key)").bind("key", Pruner.LOCK_KEY).mapTo(String.class).one();

            assertThat(new Pruner(jdbi, WEEK).runOnce()).isEqualTo(Pruner.Result.SKIPPED);
            assertThat(exists(old)).isTrue();

            other.createQuery("SELECT pg_advisory_unlock(:key)").bind("key", Pruner.LOCK_KEY).mapTo(Boolean.class).one();
        }
        assertThat(new Pruner(jdbi, WEEK).runOnce().batches()).isEqualTo(1);
        assertThat(exists(old)).isFalse();
    }

    @Test
    void anOldBatchRetriedBeforeThePruneIsKept() {
        long old = finished("FAILED", 2, "8 days");
        assertThat(procq.post("/api/v1/batches/" + old + "/retry", null, "", Map.of()).status()).isEqualTo(200);

        assertThat(new Pruner(jdbi, WEEK).runOnce().jobs()).isZero();
        assertThat(jobs(old)).isEqualTo(2);
        assertThat(procq.batch(old).get("counts").get("PENDING").asLong()).isEqualTo(2);
    }

    @Test
    void theLockIsReleasedAfterEveryRun() {
        new Pruner(jdbi, WEEK).runOnce();

        boolean free = jdbi.withHandle(handle -> {
            boolean taken = handle.createQuery("SELECT pg_try_advisory_lock(:key)").bind("key", Pruner.LOCK_KEY)
                    .mapTo(Boolean.class).one();
            if (taken) handle.createQuery("SELECT pg_advisory_unlock(:key)").bind("key", Pruner.LOCK_KEY).mapTo(Boolean.class).one();
            return taken;
        });
        assertThat(free).isTrue();
    }
}
