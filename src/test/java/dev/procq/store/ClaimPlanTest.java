package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.store.JobDao.FinishedOrClaimed;
import dev.procq.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The claim round trip reads procq.job by its indexes whatever the statistics say. A queue's
 * statistics are stale by nature (taken when every row was OK, or in the middle of a batch), and
 * a prepared statement runs a generic plan that cannot see its LIMIT; with those, the claim once
 * read and sorted every job of the type and joined the whole table to set eight rows RUNNING.
 * Each test forces the generic plan and counts, in pg_stat_xact_user_tables (which counts nested
 * statements, the claim functions', too), the round trip's sequential scans of procq.job and
 * the rows it fetched through indexes.
 */
class ClaimPlanTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final int JOBS = 2_000;
    static final int SLOTS = 8;
    /** The worker's (Completer.KEY_SCAN_LIMIT): the waiting jobs a keyed claim reads, then the keys it visits. */
    static final int SCAN_LIMIT = 1000;

    Jdbi jdbi;
    String type;
    long worker;

    @BeforeEach
    void setUp() {
        jdbi = postgres.database().jdbi();
        jdbi.useHandle(h -> h.execute("TRUNCATE procq.job, procq.batch, procq.job_attempt, procq.job_type, procq.job_rate, procq.webhook_delivery, procq.webhook_attempt"));
        type = "plan";
        worker = jdbi.withExtension(WorkerDao.class, dao -> dao.register("test-host", 1, SLOTS, new String[] {type}));
    }

    @Test
    void statisticsTakenWhenEveryJobWasFinished() throws SQLException {
        batch(JOBS, "OK");
        analyze();
        batch(JOBS, "PENDING");
        assertClaimUsesIndexes();
    }

    @Test
    void statisticsTakenInTheMiddleOfABatch() throws SQLException {
        // 40% PENDING when ANALYZE ran: the mix for which the generic plan chose a sequential scan and a sort.
        long batch = batch(JOBS, "PENDING");
        jdbi.useHandle(h -> h.execute("""
                UPDATE procq.job SET state = 'OK', finished_at = now()
                 WHERE id IN (SELECT id FROM procq.job WHERE batch_id = ? ORDER BY id LIMIT ?)""", batch, JOBS * 6 / 10));
        analyze();
        assertClaimUsesIndexes();
    }

    @Test
    void aTypeWithPerKeyLimitsToo() throws SQLException {
        jdbi.useHandle(h -> h.execute("""
                INSERT INTO procq.job_type (name, concurrency, key_concurrency, key_rate) VALUES (?, ?, 8, 100000)""",
                type, SLOTS));
        // Statistics from before the batch: no job had a key, none was PENDING.
        batch(JOBS, "OK");
        analyze();
        long batch = batch(JOBS, "PENDING");
        jdbi.useHandle(h -> h.execute("UPDATE procq.job SET key = 'k' || id WHERE batch_id = ?", batch));
        assertClaimUsesIndexes();
    }

    @Test
    void aHotKeyCostsAClaimNoMoreThanItsScanLimit() throws SQLException {
        jdbi.useHandle(h -> h.execute("""
                INSERT INTO procq.job_type (name, concurrency, key_concurrency) VALUES (?, ?, 2)""", type, SLOTS));
        long batch = batch(JOBS, "PENDING");
        // Three in four on one host, first in claim order (more than a first pass reads) and first in key order.
        jdbi.useHandle(h -> h.execute("""
                UPDATE procq.job j SET key = CASE WHEN r.n <= 1500 THEN 'a-hot-host' ELSE 'k' || j.id END
                  FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM procq.job WHERE batch_id = ?) r
                 WHERE j.id = r.id""", batch));
        analyze();
        for (int round = 0; round < 3; round++) {
            List<FinishedOrClaimed> rows = roundTrip(new Long[0], 3L * SCAN_LIMIT);
            assertThat(rows.stream().filter(FinishedOrClaimed::claim)).as("round %d", round).hasSize(SLOTS);
        }
        long hot = jdbi.withHandle(h -> h.createQuery(
                "SELECT count(*) FROM procq.job WHERE state = 'RUNNING' AND key = 'a-hot-host'").mapTo(Long.class).one());
        assertThat(hot).as("the hot key at its keyConcurrency").isEqualTo(2);
    }

    /** Claims eight, then writes their results while claiming eight more, each under a generic plan. */
    private void assertClaimUsesIndexes() throws SQLException {
        List<FinishedOrClaimed> first = roundTrip(new Long[0]);
        Long[] claimed = first.stream().filter(FinishedOrClaimed::claim).map(FinishedOrClaimed::id).toArray(Long[]::new);
        assertThat(claimed).hasSize(SLOTS);

        List<FinishedOrClaimed> second = roundTrip(claimed);
        assertThat(second.stream().filter(row -> !row.claim() && !row.limit()).map(FinishedOrClaimed::id))
                .containsExactlyInAnyOrder(claimed);
        assertThat(second.stream().filter(FinishedOrClaimed::claim)).hasSize(SLOTS);
        Map<String, Object> states = jdbi.withHandle(h -> h.createQuery("""
                SELECT count(*) FILTER (WHERE state = 'RUNNING') AS running, count(*) FILTER (WHERE state = 'OK'
                       AND id = ANY(:written)) AS written FROM procq.job""")
                .bind("written", claimed).mapToMap().one());
        assertThat(states).containsEntry("running", (long) SLOTS).containsEntry("written", (long) SLOTS);
    }

    /** One round trip as a worker makes it, with {@code finishing} ending OK; asserts it scanned no table. */
    private List<FinishedOrClaimed> roundTrip(Long[] finishing) throws SQLException {
        // A few heap rows per job written or claimed (the claim index's head, primary-key probes,
        // the attempt's foreign key), never a whole partial index filtered by id: 42 and 58
        // here, against 2,034 and 2,050 when a limited claim read job_pending_claim_idx whole.
        return roundTrip(finishing, 10L * (finishing.length + SLOTS));
    }

    /** The same, fetching at most {@code fetchLimit} rows of procq.job through indexes. */
    private List<FinishedOrClaimed> roundTrip(Long[] finishing, long fetchLimit) throws SQLException {
        List<AttemptResult> results = Arrays.stream(finishing).map(id -> new AttemptResult(id, 1, JobState.OK,
                Outcome.OK, 0, null, null, "", OffsetDateTime.now(), Duration.ofMillis(1), Duration.ZERO, false, 0L, 0L,
                1000L, null)).toList();
        return jdbi.<List<FinishedOrClaimed>, SQLException>inTransaction(h -> {
            h.execute("SET LOCAL plan_cache_mode = force_generic_plan");
            long before = sequentialScansOfJobs(h);
            long fetchedBefore = fetchedByIndex(h);
            List<FinishedOrClaimed> rows = new ClaimRoundTrip(jdbi, worker, 60_000, SCAN_LIMIT).run(h.getConnection(),
                    results, new String[] {type, "other"}, new Integer[] {SLOTS, SLOTS}, SLOTS);
            assertThat(sequentialScansOfJobs(h) - before).as("sequential scans of procq.job in one round trip").isZero();
            assertThat(fetchedByIndex(h) - fetchedBefore).as("rows of procq.job fetched by index in one round trip")
                    .isLessThanOrEqualTo(fetchLimit);
            return rows;
        });
    }

    /**
     * This backend's sequential scans of procq.job not yet flushed to the statistics, earlier
     * transactions' included: only the difference within one transaction says what a statement did.
     */
    private static long sequentialScansOfJobs(Handle h) {
        return h.createQuery("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = 'procq.job'::regclass")
                .mapTo(Long.class).one();
    }

    /** The same for rows fetched through an index. */
    private static long fetchedByIndex(Handle h) {
        return h.createQuery("SELECT idx_tup_fetch FROM pg_stat_xact_user_tables WHERE relid = 'procq.job'::regclass")
                .mapTo(Long.class).one();
    }

    private long batch(int jobs, String state) {
        return jdbi.withHandle(h -> {
            long batch = h.createQuery("INSERT INTO procq.batch (type, total) VALUES (:t, :n) RETURNING id")
                    .bind("t", type).bind("n", jobs).mapTo(Long.class).one();
            h.execute("""
                    INSERT INTO procq.job (batch_id, type, target, state, finished_at)
                    SELECT ?, ?, 'target-' || g, ?, CASE WHEN ? = 'PENDING' THEN NULL ELSE now() END
                      FROM generate_series(1, ?) g""", batch, type, state, state, jobs);
            return batch;
        });
    }

    private void analyze() {
        jdbi.useHandle(h -> h.execute("ANALYZE procq.job"));
    }

}
