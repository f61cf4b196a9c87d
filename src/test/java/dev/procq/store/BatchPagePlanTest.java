package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.testing.PostgresExtension;
import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A page of a batch's jobs (the dashboard's batch page, GET /api/v1/batches/{id}/jobs) reads that
 * batch's rows only, however many finished rows of other batches the table holds. Without a
 * state, PostgreSQL once walked the primary key from the page's start and filtered on the batch,
 * so the newest batch's first page read every older row (B10 in docs/benchmarks.md); V20's
 * job_batch_id_idx gives it the batch's own range. Each query
 * runs under the generic plan a prepared statement gets, and the test counts the rows it fetched
 * from procq.job in pg_stat_xact_user_tables.
 */
class BatchPagePlanTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final int OLD_BATCHES = 10;
    static final int OLD_JOBS = 2_000;
    static Jdbi jdbi;
    static long first;
    static long newest;

    @BeforeAll
    static void setUp() {
        jdbi = postgres.database().jdbi();
        jdbi.useHandle(h -> h.execute("TRUNCATE procq.job, procq.batch, procq.job_attempt, procq.webhook_delivery, procq.webhook_attempt"));
        first = batch(OLD_JOBS, true);
        for (int i = 1; i < OLD_BATCHES; i++) batch(OLD_JOBS, true);
        newest = batch(300, false);
        jdbi.useHandle(h -> h.execute("ANALYZE procq.job"));
    }

    @Test
    void theNewestBatchsFirstPageReadsOnlyItsRows() {
        List<JobRow> page = page(newest, null, 0, 50);
        assertThat(page).hasSize(50);
        assertThat(page).extracting(JobRow::batchId).containsOnly(newest);
        assertThat(page).extracting(JobRow::id).isSorted();
        // Its states mix (PENDING, OK, FAILED): the page is the batch's first 50 by id, whatever their state.
        long firstId = jdbi.withHandle(h -> h.createQuery("SELECT min(id) FROM procq.job WHERE batch_id = ?")
                .bind(0, newest).mapTo(Long.class).one());
        assertThat(page.get(0).id()).isEqualTo(firstId);
        assertThat(page.get(49).id()).isEqualTo(firstId + 49);
        assertThat(page).extracting(JobRow::state).contains("PENDING", "OK", "FAILED");
    }

    @Test
    void aLaterPageAndAStateFilterToo() {
        List<JobRow> firstPage = page(first, null, 0, 50);
        List<JobRow> next = page(first, null, firstPage.get(49).id(), 50);
        assertThat(next).hasSize(50);
        assertThat(next.get(0).id()).isEqualTo(firstPage.get(49).id() + 1);
        List<JobRow> failed = page(newest, "FAILED", 0, 20);
        assertThat(failed).isNotEmpty().extracting(JobRow::state).containsOnly("FAILED");
        assertThat(failed).extracting(JobRow::batchId).containsOnly(newest);
    }

    /** One page under the generic plan, asserting it fetched no more rows than a few pages. */
    private static List<JobRow> page(long batch, String state, long after, int limit) {
        return jdbi.inTransaction(h -> {
            h.execute("SET LOCAL plan_cache_mode = force_generic_plan");
            long before = fetched(h);
            List<JobRow> rows = h.attach(JobDao.class).listOfBatch(batch, state, after, limit);
            long read = fetched(h) - before;
            assertThat(read).as("rows of procq.job fetched for a page of %d (table: %d rows)", limit,
                    OLD_BATCHES * OLD_JOBS).isLessThanOrEqualTo(5L * limit);
            return rows;
        });
    }

    /** Rows of procq.job this transaction fetched so far, by index and by sequential scan. */
    private static long fetched(Handle h) {
        return h.createQuery("""
                SELECT coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0)
                  FROM pg_stat_xact_user_tables WHERE relid = 'procq.job'::regclass""").mapTo(Long.class).one();
    }

    /** A batch of finished jobs (one in ten FAILED), or of a mix with a third still PENDING. */
    private static long batch(int jobs, boolean finished) {
        return jdbi.withHandle(h -> {
            long batch = h.createQuery("INSERT INTO procq.batch (type, total) VALUES ('plan', :n) RETURNING id")
                    .bind("n", jobs).mapTo(Long.class).one();
            h.execute("""
                    INSERT INTO procq.job (batch_id, type, target, state, finished_at)
                    SELECT ?, 'plan', 'target-' || g, s, CASE WHEN s = 'PENDING' THEN NULL ELSE now() END
                      FROM generate_series(1, ?) g,
                           LATERAL (SELECT CASE WHEN g % 10 = 0 THEN 'FAILED'
                                                WHEN NOT ? AND g % 3 = 0 THEN 'PENDING' ELSE 'OK' END AS s) st""",
                    batch, jobs, finished);
            return batch;
        });
    }
}
