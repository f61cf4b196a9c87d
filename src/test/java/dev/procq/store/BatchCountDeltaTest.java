package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procq.testing.PostgresExtension;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Claims and results that fail no target never wait for their batch's row
 * (procq.job_count_changes): while another transaction holds it, their counter changes wait in
 * procq.batch_delta and are folded in, in order, by the next statement that holds the row or by
 * procq.batch_fold_deltas(). Any other change to jobs (a failing result, a cancel, a retry, an
 * operator's UPDATE) still waits for the row and so is in the counters the moment it commits.
 */
class BatchCountDeltaTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    private static Jdbi jdbi() {
        return postgres.database().jdbi();
    }

    /** A batch with {@code pending} PENDING jobs and {@code running} RUNNING ones (held by worker 1). */
    private static long batch(int pending, int running) {
        return jdbi().withHandle(handle -> {
            long id = handle.createQuery("INSERT INTO procq.batch (type, total) VALUES ('t', :n) RETURNING id")
                    .bind("n", pending + running).mapTo(Long.class).one();
            handle.execute("INSERT INTO procq.job (batch_id, type, target) SELECT ?, 't', 'p' || g FROM generate_series(1, ?) g",
                    id, pending);
            handle.execute("""
                    INSERT INTO procq.job (batch_id, type, target, state, attempts, worker_id, lease_expires_at, started_at)
                    SELECT ?, 't', 'r' || g, 'RUNNING', 1, 1, now() + interval '1 hour', now() FROM generate_series(1, ?) g""",
                    id, running);
            return id;
        });
    }

    /** Holds the batch's row as another transaction would (a cancel, another worker's round trip) until closed. */
    private static Handle holdBatchRow(long batch) {
        Handle holder = jdbi().open();
        holder.begin();
        holder.execute("SELECT 1 FROM procq.batch WHERE id = ? FOR NO KEY UPDATE", batch);
        return holder;
    }

    /** Runs {@code sql} in a transaction of its own that gives up after waiting 500 ms for any lock. */
    private static void impatiently(String sql, Object... args) {
        jdbi().useTransaction(handle -> {
            handle.execute("SET LOCAL lock_timeout = '500ms'");
            handle.execute(sql, args);
        });
    }

    private static Map<String, Object> counters(long batch) {
        return jdbi().withHandle(h -> h.createQuery("""
                SELECT pending, running, ok, failed, cancelled, state, started_at IS NOT NULL AS started,
                       halted_at IS NOT NULL AS halted, failed_in_a_row,
                       (SELECT count(*) FROM procq.batch_delta d WHERE d.batch_id = b.id) AS deltas
                  FROM procq.batch b WHERE id = :id""").bind("id", batch).mapToMap().one());
    }

    private static final String CLAIM_ALL = """
            UPDATE procq.job SET state = 'RUNNING', attempts = attempts + 1, worker_id = 2,
                                 lease_expires_at = now() + interval '1 hour', started_at = now()
             WHERE batch_id = ? AND state = 'PENDING'""";
    private static final String FINISH_RUNNING = """
            UPDATE procq.job SET state = ?, lease_expires_at = NULL, finished_at = now()
             WHERE batch_id = ? AND state = 'RUNNING'""";

    @Test
    void aClaimWhoseBatchRowIsHeldDoesNotWaitAndItsCountsFollowWithTheNextStatement() {
        long batch = batch(3, 0);
        try (Handle holder = holdBatchRow(batch)) {
            impatiently(CLAIM_ALL, batch);
            assertThat(counters(batch)).containsEntry("pending", 3L).containsEntry("running", 0L).containsEntry("deltas", 1L);
            holder.rollback();
        }
        // The results' statement holds the row: it folds the claim's change in before its own.
        impatiently(FINISH_RUNNING, "OK", batch);
        assertThat(counters(batch)).containsEntry("pending", 0L).containsEntry("running", 0L).containsEntry("ok", 3L)
                .containsEntry("started", true).containsEntry("state", "DONE").containsEntry("deltas", 0L);
    }

    @Test
    void theLastResultsWaitingAsADeltaEndTheBatchWhenFolded() {
        long batch = batch(0, 2);
        try (Handle holder = holdBatchRow(batch)) {
            impatiently(FINISH_RUNNING, "OK", batch);
            holder.commit();
        }
        assertThat(counters(batch)).containsEntry("running", 2L).containsEntry("state", "RUNNING").containsEntry("deltas", 1L);

        long folded = jdbi().withExtension(BatchDao.class, BatchDao::foldCountDeltas);

        assertThat(folded).isGreaterThanOrEqualTo(1);
        assertThat(counters(batch)).containsEntry("running", 0L).containsEntry("ok", 2L).containsEntry("state", "DONE")
                .containsEntry("deltas", 0L);
    }

    @Test
    void aFoldPassesOverABatchRowAnotherTransactionHolds() {
        long batch = batch(0, 1);
        try (Handle holder = holdBatchRow(batch)) {
            impatiently(FINISH_RUNNING, "OK", batch);
            jdbi().useTransaction(handle -> {
                handle.execute("SET LOCAL lock_timeout = '500ms'");
                handle.createQuery("SELECT procq.batch_fold_deltas()").mapTo(Long.class).one();
            });
            assertThat(counters(batch)).containsEntry("running", 1L).containsEntry("deltas", 1L);
            holder.rollback();
        }
        jdbi().withExtension(BatchDao.class, BatchDao::foldCountDeltas);
        assertThat(counters(batch)).containsEntry("running", 0L).containsEntry("ok", 1L).containsEntry("state", "DONE");
    }

    @Test
    void aCancelStillWaitsForTheBatchRowSoItsCountsAreThereWhenItCommits() {
        long batch = batch(2, 0);
        try (Handle holder = holdBatchRow(batch)) {
            assertThatThrownBy(() -> impatiently("UPDATE procq.job SET state = 'CANCELLED', finished_at = now() WHERE batch_id = ?", batch))
                    .satisfies(e -> assertThat(sqlState(e)).isEqualTo("55P03"));
            holder.rollback();
        }
        impatiently("UPDATE procq.job SET state = 'CANCELLED', finished_at = now() WHERE batch_id = ?", batch);
        assertThat(counters(batch)).containsEntry("pending", 0L).containsEntry("cancelled", 2L).containsEntry("deltas", 0L);
    }

    @Test
    void aResultThatFailsATargetWaitsForTheRowSoTheFailureBudgetSeesTheBatchAsItStands() {
        long batch = batch(2, 2);
        jdbi().useHandle(h -> h.execute("UPDATE procq.batch SET halt_failed = 2 WHERE id = ?", batch));
        try (Handle holder = holdBatchRow(batch)) {
            // Claims left as a change to fold in: the batch row still says 2 PENDING, 2 RUNNING.
            impatiently(CLAIM_ALL.replace("state = 'PENDING'", "state = 'PENDING' AND target = 'p1'"), batch);
            assertThatThrownBy(() -> impatiently(FINISH_RUNNING, "FAILED", batch))
                    .satisfies(e -> assertThat(sqlState(e)).isEqualTo("55P03"));
            holder.rollback();
        }
        // Waiting for the row, it folds the claim in first: one target still PENDING, so the budget halts the batch.
        impatiently(FINISH_RUNNING, "FAILED", batch);
        assertThat(counters(batch)).containsEntry("pending", 1L).containsEntry("running", 0L).containsEntry("failed", 3L)
                .containsEntry("halted", true).containsEntry("state", "HALTED").containsEntry("deltas", 0L);
    }

    @Test
    void deletingABatchDeletesTheChangesItHasNotFoldedAndAFoldDropsThoseOfBatchesGone() {
        long batch = batch(0, 1);
        try (Handle holder = holdBatchRow(batch)) {
            impatiently(FINISH_RUNNING, "OK", batch);
            holder.commit();
        }
        jdbi().useHandle(h -> {
            h.execute("DELETE FROM procq.batch WHERE id = ?", batch);
            // As if recorded just before a deletion that could not see it.
            h.execute("INSERT INTO procq.batch_delta (batch_id, pending, running, ok, failed, cancelled) VALUES (987657, 0, -1, 1, 0, 0)");
        });
        assertThat(deltasOf(batch)).isZero();

        jdbi().withExtension(BatchDao.class, BatchDao::foldCountDeltas);

        assertThat(deltasOf(987657)).isZero();
    }

    /**
     * Four connections claim and finish one batch's jobs ten at a time, each holding its
     * transaction open 300 ms after each statement, as a fleet's round trips overlap: no statement
     * waits as long as 200 ms for any lock (waiting for the batch row, each would wait for up to
     * three others), and once the last changes are folded the counters are the jobs' own.
     */
    @Test
    void overlappingClaimsAndResultsOfManyConnectionsNeverWaitAndAddUp() throws Exception {
        long batch = batch(200, 0);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                int worker = 10 + w;
                done.add(pool.submit(() -> {
                    int finished = 0;
                    while (true) {
                        int n = jdbi().inTransaction(handle -> {
                            handle.execute("SET LOCAL lock_timeout = '200ms'");
                            int claimed = handle.createUpdate("""
                                    UPDATE procq.job SET state = 'RUNNING', attempts = 1, worker_id = :w,
                                                         lease_expires_at = now() + interval '1 hour', started_at = now()
                                     WHERE id IN (SELECT id FROM procq.job WHERE batch_id = :b AND state = 'PENDING'
                                                   ORDER BY id LIMIT 10 FOR UPDATE SKIP LOCKED)""")
                                    .bind("w", worker).bind("b", batch).execute();
                            Thread.sleep(300);
                            return claimed;
                        });
                        if (n == 0) return finished;
                        finished += jdbi().inTransaction(handle -> {
                            handle.execute("SET LOCAL lock_timeout = '200ms'");
                            int written = handle.createUpdate("""
                                    UPDATE procq.job SET state = 'OK', lease_expires_at = NULL, finished_at = now()
                                     WHERE batch_id = :b AND state = 'RUNNING' AND worker_id = :w""")
                                    .bind("w", worker).bind("b", batch).execute();
                            Thread.sleep(300);
                            return written;
                        });
                    }
                }));
            }
            int total = 0;
            for (Future<Integer> f : done) total += f.get();
            assertThat(total).isEqualTo(200);
        } finally {
            pool.shutdownNow();
        }
        jdbi().withExtension(BatchDao.class, BatchDao::foldCountDeltas);
        long ok = jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM procq.job WHERE batch_id = :b AND state = 'OK'")
                .bind("b", batch).mapTo(Long.class).one());
        assertThat(ok).isEqualTo(200);
        assertThat(counters(batch)).containsEntry("pending", 0L).containsEntry("running", 0L).containsEntry("ok", 200L)
                .containsEntry("started", true).containsEntry("state", "DONE").containsEntry("deltas", 0L);
    }

    private static long deltasOf(long batch) {
        return jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM procq.batch_delta WHERE batch_id = :b")
                .bind("b", batch).mapTo(Long.class).one());
    }

    private static String sqlState(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql) return sql.getSQLState();
        }
        return null;
    }
}
