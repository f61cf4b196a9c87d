package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procq.testing.PostgresExtension;
import java.sql.SQLException;
import java.util.Map;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * procq.job.batch_id is checked per statement by the counter trigger, not per row by a
 * foreign key: what an operator writing SQL by hand sees must not change.
 */
class BatchReferenceTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    private static Jdbi jdbi() {
        return postgres.database().jdbi();
    }

    private static long newBatch(Handle handle) {
        return handle.createQuery("INSERT INTO procq.batch (type, total) VALUES ('t', 0) RETURNING id")
                .mapTo(Long.class).one();
    }

    private static String sqlState(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql) return sql.getSQLState();
        }
        return null;
    }

    @Test
    void jobOfAMissingBatchIsRefusedWithTheForeignKeyErrorCode() {
        assertThatThrownBy(() -> jdbi().useHandle(handle -> handle.execute(
                "INSERT INTO procq.job (batch_id, type, target) VALUES (987654, 't', 'a')")))
                .satisfies(e -> assertThat(sqlState(e)).isEqualTo("23503"))
                .hasMessageContaining("batch 987654 does not exist");
        long recorded = jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM procq.job WHERE batch_id = 987654")
                .mapTo(Long.class).one());
        assertThat(recorded).isZero();
    }

    @Test
    void oneMissingBatchRefusesTheWholeStatement() {
        long batch = jdbi().withHandle(BatchReferenceTest::newBatch);
        assertThatThrownBy(() -> jdbi().useHandle(handle -> handle.execute(
                "INSERT INTO procq.job (batch_id, type, target) VALUES (?, 't', 'a'), (987655, 't', 'b')", batch)))
                .satisfies(e -> assertThat(sqlState(e)).isEqualTo("23503"));
        Map<String, Object> counts = jdbi().withHandle(h -> h.createQuery(
                "SELECT pending, (SELECT count(*) FROM procq.job WHERE batch_id = :id) AS jobs FROM procq.batch WHERE id = :id")
                .bind("id", batch).mapToMap().one());
        assertThat(counts).containsEntry("pending", 0L).containsEntry("jobs", 0L);
    }

    @Test
    void movingJobsToAMissingBatchIsRefused() {
        long batch = jdbi().withHandle(handle -> {
            long id = newBatch(handle);
            handle.execute("INSERT INTO procq.job (batch_id, type, target) VALUES (?, 't', 'a')", id);
            return id;
        });
        assertThatThrownBy(() -> jdbi().useHandle(handle -> handle.execute(
                "UPDATE procq.job SET batch_id = 987656 WHERE batch_id = ?", batch)))
                .satisfies(e -> assertThat(sqlState(e)).isEqualTo("23503"));
    }

    @Test
    void jobsInsertedByHandKeepTheCountersRight() {
        long batch = jdbi().withHandle(handle -> {
            long id = newBatch(handle);
            handle.execute("INSERT INTO procq.job (batch_id, type, target) SELECT ?, 't', 'x' || g FROM generate_series(1, 5) g", id);
            handle.execute("UPDATE procq.job SET state = 'CANCELLED', finished_at = now() WHERE batch_id = ? AND target = 'x1'", id);
            return id;
        });
        Map<String, Object> counts = jdbi().withHandle(h -> h.createQuery(
                "SELECT pending, cancelled FROM procq.batch WHERE id = :id").bind("id", batch).mapToMap().one());
        assertThat(counts).containsEntry("pending", 4L).containsEntry("cancelled", 1L);
    }

    @Test
    void deletingABatchDeletesItsJobsAndTheirAttempts() {
        long batch = jdbi().withHandle(handle -> {
            long id = newBatch(handle);
            long job = handle.createQuery("""
                    INSERT INTO procq.job (batch_id, type, target, state, attempts, finished_at)
                    VALUES (:id, 't', 'a', 'OK', 1, now()) RETURNING id""").bind("id", id).mapTo(Long.class).one();
            handle.execute("""
                    INSERT INTO procq.job_attempt (job_id, attempt, started_at, finished_at, outcome, duration_ms)
                    VALUES (?, 1, now(), now(), 'OK', 0)""", job);
            handle.execute("INSERT INTO procq.job (batch_id, type, target) VALUES (?, 't', 'b')", id);
            return id;
        });
        long other = jdbi().withHandle(handle -> {
            long id = newBatch(handle);
            handle.execute("INSERT INTO procq.job (batch_id, type, target) VALUES (?, 't', 'c')", id);
            return id;
        });

        jdbi().useHandle(handle -> handle.execute("DELETE FROM procq.batch WHERE id = ?", batch));

        Map<String, Object> left = jdbi().withHandle(h -> h.createQuery("""
                SELECT (SELECT count(*) FROM procq.job WHERE batch_id = :batch) AS jobs,
                       (SELECT count(*) FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id
                         WHERE j.batch_id = :batch) AS attempts,
                       (SELECT count(*) FROM procq.job WHERE batch_id = :other) AS other_jobs,
                       (SELECT pending FROM procq.batch WHERE id = :other) AS other_pending""")
                .bind("batch", batch).bind("other", other).mapToMap().one());
        assertThat(left).containsEntry("jobs", 0L).containsEntry("attempts", 0L)
                .containsEntry("other_jobs", 1L).containsEntry("other_pending", 1L);
    }
}
