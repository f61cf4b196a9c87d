package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.store.JobDao.FinishedOrClaimed;
import dev.procq.testing.PostgresExtension;
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
 * Each test forces the generic plan and counts the statement's sequential scans of procq.job in
 * pg_stat_xact_user_tables, which counts nested statements (the claim functions) too.
 */
class ClaimPlanTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final int JOBS = 2_000;
    static final int SLOTS = 8;

    Jdbi jdbi;
    String type;
    long worker;

    @BeforeEach
    void setUp() {
        jdbi = postgres.database().jdbi();
        jdbi.useHandle(h -> h.execute("TRUNCATE procq.job, procq.batch, procq.job_attempt"));
        type = "plan";
        worker = jdbi.withExtension(WorkerDao.class, dao -> dao.register("test-host", 1, SLOTS, new String[] {type}));
    }

    @Test
    void statisticsTakenWhenEveryJobWasFinished() {
        batch(JOBS, "OK");
        analyze();
        batch(JOBS, "PENDING");
        assertClaimUsesIndexes();
    }

    @Test
    void statisticsTakenInTheMiddleOfABatch() {
        // 40% PENDING when ANALYZE ran: the mix for which the generic plan chose a sequential scan and a sort.
        long batch = batch(JOBS, "PENDING");
        jdbi.useHandle(h -> h.execute("""
                UPDATE procq.job SET state = 'OK', finished_at = now()
                 WHERE id IN (SELECT id FROM procq.job WHERE batch_id = ? ORDER BY id LIMIT ?)""", batch, JOBS * 6 / 10));
        analyze();
        assertClaimUsesIndexes();
    }

    @Test
    void aTypeWithPerKeyLimitsToo() {
        jdbi.useHandle(h -> h.execute("""
                INSERT INTO procq.job_type (name, concurrency, key_concurrency, key_rate) VALUES (?, ?, 8, 100000)""",
                type, SLOTS));
        long batch = batch(JOBS, "PENDING");
        jdbi.useHandle(h -> h.execute("UPDATE procq.job SET key = 'k' || id WHERE batch_id = ?", batch));
        analyze();
        assertClaimUsesIndexes();
    }

    /** Claims eight, then writes their results while claiming eight more, each under a generic plan. */
    private void assertClaimUsesIndexes() {
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
    private List<FinishedOrClaimed> roundTrip(Long[] finishing) {
        return jdbi.inTransaction(h -> {
            h.execute("SET LOCAL plan_cache_mode = force_generic_plan");
            long before = sequentialScansOfJobs(h);
            List<FinishedOrClaimed> rows = h.attach(JobDao.class).finishIfRunningAndClaim(worker,
                    new String[] {type, "other"}, new Integer[] {SLOTS, SLOTS}, SLOTS, 1000, 60_000,
                    finishing, filled(finishing.length, 1), filled(finishing.length, "OK"),
                    filled(finishing.length, "OK"), filled(finishing.length, 0), new Integer[finishing.length],
                    new String[finishing.length], new String[finishing.length], filled(finishing.length, 1L),
                    filled(finishing.length, 0L), filled(finishing.length, false), filled(finishing.length, 0L),
                    filled(finishing.length, 0L), filled(finishing.length, 1000L), new String[finishing.length]);
            assertThat(sequentialScansOfJobs(h) - before).as("sequential scans of procq.job in one round trip").isZero();
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

    @SuppressWarnings("unchecked")
    private static <T> T[] filled(int n, T value) {
        T[] array = (T[]) java.lang.reflect.Array.newInstance(value.getClass(), n);
        Arrays.fill(array, value);
        return array;
    }
}
