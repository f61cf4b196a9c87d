package dev.procq.store;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** procq.job: claimed, fenced, finished. Every write after the claim names worker and attempt. */
@RegisterConstructorMapper(JobRow.class)
@RegisterConstructorMapper(ClaimedJob.class)
public interface JobDao {
    String COLUMNS = """
            id, batch_id, type, target, meta::text AS meta, state, attempts, max_attempts, worker_id,
            exit_code, signal, error, created_at, run_at, started_at, finished_at""";

    /** Takes the rows of CTE {@code picked}: RUNNING, one more attempt, this worker's lease. */
    String CLAIM_PICKED = """
            UPDATE procq.job j
               SET state = 'RUNNING', attempts = j.attempts + 1, worker_id = :worker,
                   lease_expires_at = now() + :leaseMillis * interval '1 millisecond',
                   started_at = now()
             WHERE j.id = ANY (ARRAY(SELECT id FROM picked))
            RETURNING j.id, j.batch_id, j.type, j.target, j.meta::text AS meta,
                      j.attempts AS attempt, j.max_attempts, j.created_at, j.started_at
            """;

    /**
     * Claims at most {@code limit} runnable jobs of one type in one statement. SKIP LOCKED
     * lets any number of workers claim side by side without waiting on each other.
     *
     * <p>Jobs of paused and halted batches (procq.batch_held) are never claimed: the set is read
     * once per statement, from a partial index that holds only those few batches. Their PENDING
     * rows are still walked past when they rank ahead of runnable ones: 100,000 of them add about
     * 20 ms to a claim (measured on 2 cores).
     */
    @SqlQuery("""
            WITH picked AS (
                SELECT id FROM procq.job_claim_pending(:type, :limit) AS p(id))
            """ + CLAIM_PICKED)
    List<ClaimedJob> claimPending(@Bind("type") String type, @Bind("limit") int limit,
                                  @Bind("worker") long workerId, @Bind("leaseMillis") long leaseMillis);

    /**
     * Writes the ends of many attempts, each only if this worker still holds that attempt,
     * and records the attempt rows for exactly those; CTE {@code written} holds the ids
     * written. The first part of {@link #FINISH_IF_RUNNING_AND_CLAIM} (run by {@link ClaimRoundTrip},
     * which binds its per-result arrays): a column added here is bound there.
     */
    String FINISH_IF_RUNNING = """
            WITH r AS (
                SELECT * FROM unnest(:ids, :attempts, :states, :outcomes, :exitCodes, :signals, :errors, :tails,
                                     :durationsMs, :retryDelaysMs, :refunds, :cpuUserMs, :cpuSystemMs, :maxRssKb,
                                     :decidedBy, :memoryPeakBytes)
                       AS r(id, attempt, state, outcome, exit_code, signal, error, output_tail,
                            duration_ms, retry_delay_ms, refund, cpu_user_ms, cpu_system_ms, max_rss_kb,
                            decided_by, memory_peak_bytes)
            ), locked AS (
                -- The rows to write, locked first and in id order, as renewLeases locks them: the
                -- lease keeper renews these same rows from its own thread, and two statements
                -- that lock one set of rows in two orders deadlock (B3, 500 at once, did once a run).
                SELECT id FROM procq.job WHERE id = ANY (:ids) ORDER BY id FOR UPDATE
            ), written AS (
                UPDATE procq.job j
                   SET state = r.state, exit_code = r.exit_code, signal = r.signal, error = r.error,
                       lease_expires_at = NULL,
                       finished_at = CASE WHEN r.state IN ('OK', 'FAILED', 'CANCELLED') THEN now() END,
                       run_at = CASE WHEN r.state = 'PENDING'
                                     THEN now() + r.retry_delay_ms * interval '1 millisecond'
                                     ELSE j.run_at END,
                       max_attempts = j.max_attempts + CASE WHEN r.refund THEN 1 ELSE 0 END
                  FROM r JOIN locked l ON l.id = r.id
                 WHERE j.id = l.id AND j.state = 'RUNNING' AND j.worker_id = :worker AND j.attempts = r.attempt
                RETURNING j.id, j.started_at
            ), attempts AS (
                INSERT INTO procq.job_attempt (job_id, attempt, worker_id, started_at, finished_at, outcome,
                                               exit_code, signal, duration_ms, error, output_tail,
                                               cpu_user_ms, cpu_system_ms, max_rss_kb, decided_by,
                                               memory_peak_bytes)
                SELECT r.id, r.attempt, :worker, w.started_at, now(), r.outcome,
                       r.exit_code, r.signal, r.duration_ms, r.error, r.output_tail,
                       r.cpu_user_ms, r.cpu_system_ms, r.max_rss_kb, r.decided_by,
                       r.memory_peak_bytes
                  FROM r JOIN written w ON w.id = r.id
                ON CONFLICT (job_id, attempt) DO NOTHING
            )
            """;

    /**
     * A worker's whole round trip ({@link ClaimRoundTrip} runs it): writes the ends of many attempts ({@link #FINISH_IF_RUNNING}),
     * then claims, per type in the order given, at most that type's free slots, and at most
     * {@code claimTotal} in all (the worker's global cap). The slots it fills may be the ones its
     * results free, so a RUNNING row always stands for a taken slot and the claim costs no trip
     * of its own. One statement, one snapshot: the claim cannot see the rows it just finished
     * (a retried job's run_at lies ahead anyway), and no reader sees the results without the claims.
     *
     * <p>Without an ORDER BY the outer LIMIT stops the per-type scans as soon as it is met, so no
     * row is locked that is not claimed; the rows come type by type in the order of the arrays
     * (the cap itself holds whatever the plan). Returns one row per result written, one per
     * job claimed, and one per type with a cluster-wide limit (the waiting jobs each limit held
     * back, and when a rate next allows a start).
     *
     * <p>A type with a cluster-wide limit (global_concurrency, rate, key_concurrency, key_rate in
     * procq.job_type) is claimed by {@code procq.job_type_claim}, which counts and chooses under
     * a per-type advisory lock held until this statement commits: claims of such a type by
     * several workers take turns, every other type is claimed side by side as before. CTE
     * {@code limited} calls it type by type in name order, so two workers limited on the same
     * types never deadlock; it is read first, through {@code picked}, after {@code written}, so
     * the slots this statement frees count as free (seen or not, a count can only come out too
     * high, never too low). Limited types fill the worker's slots before the others; when the
     * total cuts one short, the jobs it chose stay PENDING. Measured on B2 (/bin/true, 8 slots):
     * see B2g in docs/benchmarks.md.
     */
    String FINISH_IF_RUNNING_AND_CLAIM = FINISH_IF_RUNNING + """
            , wanted AS (
                SELECT w.type, w.slots, w.position,
                       coalesce(t.global_concurrency IS NOT NULL OR t.rate IS NOT NULL
                                OR t.key_concurrency IS NOT NULL OR t.key_rate IS NOT NULL, false) AS limited
                  FROM unnest(:claimTypes, :claimSlots) WITH ORDINALITY AS w(type, slots, position)
                  LEFT JOIN procq.job_type t ON t.name = w.type
            ), limited AS (
                SELECT w.type, c.*
                  FROM (SELECT type, slots FROM wanted WHERE limited ORDER BY type) w
                 CROSS JOIN LATERAL procq.job_type_claim(w.type, w.slots, :scanLimit) c
            ), picked AS (
                SELECT id FROM (
                    SELECT job_id AS id FROM limited WHERE job_id IS NOT NULL
                    UNION ALL
                    SELECT p.id
                      FROM (SELECT type, slots FROM wanted WHERE NOT limited ORDER BY position) w
                     CROSS JOIN LATERAL procq.job_claim_pending(w.type, w.slots) AS p(id)
                ) both_kinds
                 LIMIT :claimTotal
            ), claimed AS (
            """ + CLAIM_PICKED + """
            )
            SELECT false AS claim, id, NULL::bigint AS batch_id, NULL AS type, NULL AS target, NULL AS meta,
                   NULL::int AS attempt, NULL::int AS max_attempts, NULL::timestamptz AS created_at,
                   NULL::timestamptz AS started_at, NULL::int AS held_by_global, NULL::int AS held_by_rate,
                   NULL::int AS held_by_key, NULL::timestamptz AS retry_at
              FROM written
            UNION ALL
            SELECT true, id, batch_id, type, target, meta, attempt, max_attempts, created_at, started_at,
                   NULL, NULL, NULL, NULL
              FROM claimed
            UNION ALL
            SELECT false, 0, NULL, type, NULL, NULL, NULL, NULL, NULL, NULL,
                   held_by_global, held_by_rate, held_by_key, retry_at
              FROM limited WHERE job_id IS NULL""";

    /**
     * A row of {@link #FINISH_IF_RUNNING_AND_CLAIM} ({@link ClaimRoundTrip}): a result written ({@code claim} false, only the id
     * set), a job claimed, or what a type's cluster-wide limits did to this claim ({@code
     * heldByGlobal} and the others set, with {@code type}): how many waiting jobs each limit held
     * back from free slots, and when a rate next allows a start (null: no rate held anything).
     */
    record FinishedOrClaimed(boolean claim, long id, Long batchId, String type, String target, String meta,
                             Integer attempt, Integer maxAttempts, OffsetDateTime createdAt, OffsetDateTime startedAt,
                             Integer heldByGlobal, Integer heldByRate, Integer heldByKey, OffsetDateTime retryAt) {
        public boolean limit() {
            return heldByGlobal != null;
        }

        public ClaimedJob claimedJob() {
            return new ClaimedJob(id, batchId, type, target, meta, attempt, maxAttempts, createdAt, startedAt);
        }
    }

    /**
     * Renews the leases of the given jobs, each only while this worker still holds it: one row per
     * job it holds, renewed or not. A job missing from the answer was lost (rescued, cancelled,
     * finished).
     *
     * <p>A row another transaction has locked is not waited for (SKIP LOCKED) but answered as
     * held and not renewed, as the snapshot shows it: most often it is this worker's own round
     * trip writing the job's result, and waiting for it would hold every other lease's renewal
     * behind that round trip. Its lease stands as it was until the next renewal; a row that
     * changed hands meanwhile shows as lost then. (The round trip still waits for the rows this
     * statement has locked until it commits: B9 in docs/benchmarks.md.)
     */
    @SqlQuery("""
            WITH held AS (
                SELECT id FROM procq.job
                 WHERE id = ANY(:ids) AND worker_id = :worker AND state = 'RUNNING'
            ), locked AS (
                -- In id order, as the round trip locks the rows it writes (FINISH_IF_RUNNING).
                SELECT id FROM procq.job
                 WHERE id = ANY(:ids) AND worker_id = :worker AND state = 'RUNNING'
                 ORDER BY id FOR UPDATE SKIP LOCKED
            ), renewed AS (
                UPDATE procq.job j SET lease_expires_at = now() + :leaseMillis * interval '1 millisecond'
                  FROM locked l
                 WHERE j.id = l.id AND j.worker_id = :worker AND j.state = 'RUNNING'
                RETURNING j.id
            )
            SELECT id, true AS renewed FROM renewed
            UNION ALL
            SELECT id, false FROM held WHERE id NOT IN (SELECT id FROM locked)""")
    @RegisterConstructorMapper(LeaseRenewal.class)
    List<LeaseRenewal> renewLeases(@Bind("worker") long workerId, @Bind("ids") Long[] ids, @Bind("leaseMillis") long leaseMillis);

    /** A job {@link #renewLeases} found this worker holding: its lease renewed, or left as it was while another statement held the row. */
    record LeaseRenewal(long id, boolean renewed) {
    }

    /**
     * Returns jobs whose lease ran out to PENDING as a new attempt (or FAILED after
     * repeated losses), recording the lost attempt. A lost lease does not count against
     * maxAttempts: the target did not fail, its worker went away.
     *
     * <p>Rescues nothing unless {@code settled}, nor within {@code settleMillis} of the server's
     * start or, on a promoted standby, of the first rescue on its timeline (recorded here in
     * procq.timeline): leases that ran out while PostgreSQL was away are their holders' to renew first.
     */
    @SqlQuery("""
            WITH timeline AS (
                SELECT ('x' || left(pg_walfile_name(pg_current_wal_lsn()), 8))::bit(32)::int AS id
            ), seen AS (
                INSERT INTO procq.timeline (id) SELECT id FROM timeline WHERE id > 1
                ON CONFLICT (id) DO NOTHING
            ), writable_since AS (
                -- A row inserted by this statement is not visible to it: then the time is now().
                SELECT greatest(pg_postmaster_start_time(),
                                CASE WHEN t.id > 1 THEN coalesce(s.first_seen_at, now()) END) AS at
                  FROM timeline t LEFT JOIN procq.timeline s ON s.id = t.id
            ), expired AS (
                SELECT id FROM procq.job
                 WHERE state = 'RUNNING' AND lease_expires_at < now()
                   AND :settled AND (SELECT at FROM writable_since) < now() - :settleMillis * interval '1 millisecond'
                 ORDER BY lease_expires_at
                 LIMIT :limit
                 FOR UPDATE SKIP LOCKED
            ), lost AS (
                SELECT e.id, (SELECT count(*) FROM procq.job_attempt a
                               WHERE a.job_id = e.id AND a.outcome = 'LEASE_EXPIRED') AS earlier_losses
                  FROM expired e
            ), rescued AS (
                UPDATE procq.job j
                   SET state = CASE WHEN l.earlier_losses + 1 >= :maxLosses THEN 'FAILED' ELSE 'PENDING' END,
                       finished_at = CASE WHEN l.earlier_losses + 1 >= :maxLosses THEN now() END,
                       error = CASE WHEN l.earlier_losses + 1 >= :maxLosses
                                    THEN 'worker lost ' || (l.earlier_losses + 1) || ' times while running this target'
                                    ELSE 'lease expired: worker ' || j.worker_id || ' stopped renewing' END,
                       lease_expires_at = NULL,
                       max_attempts = j.max_attempts + 1,
                       run_at = now()
                  FROM lost l
                 WHERE j.id = l.id
                RETURNING j.id, j.attempts, j.worker_id, j.started_at, j.error
            ), attempts AS (
                INSERT INTO procq.job_attempt (job_id, attempt, worker_id, started_at, finished_at, outcome,
                                               duration_ms, error)
                SELECT id, attempts, worker_id, started_at, now(), 'LEASE_EXPIRED',
                       greatest(0, (extract(epoch FROM now() - started_at) * 1000)::bigint),
                       'lease expired: worker ' || worker_id || ' stopped renewing'
                  FROM rescued
                ON CONFLICT (job_id, attempt) DO NOTHING
            )
            SELECT id FROM rescued""")
    List<Long> rescueExpiredLeases(@Bind("limit") int limit, @Bind("maxLosses") int maxLosses,
                                   @Bind("settled") boolean settled, @Bind("settleMillis") long settleMillis);

    /** Hands back every job a stopped worker still holds, without counting the attempt. */
    @SqlUpdate("""
            UPDATE procq.job SET state = 'PENDING', lease_expires_at = NULL, run_at = now(),
                   max_attempts = max_attempts + 1
             WHERE worker_id = :worker AND state = 'RUNNING'""")
    int releaseAllHeldBy(@Bind("worker") long workerId);

    @SqlQuery("SELECT " + COLUMNS + " FROM procq.job WHERE id = :id")
    Optional<JobRow> find(@Bind("id") long id);

    /**
     * A batch's jobs in id order after {@code after}; state null means any. Two statements, so
     * each has a plan of its own: with the state as "NULL or equal" in one, the generic plan of a
     * prepared statement could use neither index and walked the primary key from {@code after},
     * reading every older batch's rows first (B10 in docs/benchmarks.md).
     */
    default List<JobRow> listOfBatch(long batchId, String state, long after, int limit) {
        return state == null ? listOfBatchAnyState(batchId, after, limit) : listOfBatchInState(batchId, state, after, limit);
    }

    /**
     * {@link #listOfBatch} in any state: job_batch_id_idx (V20). The page's start is a row
     * comparison on the index's two columns, which the primary key cannot take: with {@code id >
     * :after} alone the generic plan walked the primary key from there (BatchPagePlanTest).
     */
    @SqlQuery("SELECT " + COLUMNS + " " + """
             FROM procq.job
             WHERE batch_id = :batch AND (batch_id, id) > (:batch, :after)
             ORDER BY id LIMIT :limit""")
    List<JobRow> listOfBatchAnyState(@Bind("batch") long batchId, @Bind("after") long after, @Bind("limit") int limit);

    /** {@link #listOfBatch} in one state: job_batch_state_idx. */
    @SqlQuery("SELECT " + COLUMNS + " " + """
             FROM procq.job
             WHERE batch_id = :batch AND state = :state AND id > :after
             ORDER BY id LIMIT :limit""")
    List<JobRow> listOfBatchInState(@Bind("batch") long batchId, @Bind("state") String state,
                                    @Bind("after") long after, @Bind("limit") int limit);

    /**
     * {@link #listOfBatch} of the jobs whose target starts with a prefix of at most
     * {@link #TARGET_PREFIX_MAX} characters, given as a LIKE pattern ({@link #prefixPattern}).
     * job_batch_target_idx holds the first 256 characters of each target, so the planner either
     * walks the batch in id order until the page is full (a prefix most targets have) or reads the
     * index's range of matches and sorts them (a rare one): figures in docs/dashboard.md.
     */
    @SqlQuery("SELECT " + COLUMNS + " " + """
             FROM procq.job
             WHERE batch_id = :batch AND left(target, 256) LIKE :pattern AND id > :after
               AND (CAST(:state AS text) IS NULL OR state = :state)
             ORDER BY id LIMIT :limit""")
    List<JobRow> listOfBatchByTarget(@Bind("batch") long batchId, @Bind("pattern") String pattern,
                                     @Bind("state") String state, @Bind("after") long after, @Bind("limit") int limit);

    /** The longest target prefix {@link #listOfBatchByTarget} takes: what job_batch_target_idx holds of a target. */
    int TARGET_PREFIX_MAX = 256;

    /** A LIKE pattern matching exactly the strings that start with {@code prefix}. */
    static String prefixPattern(String prefix) {
        return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
    }

    /**
     * The last hour in 60 one-minute buckets, on the database's clock and aligned to whole minutes
     * (the last one is the minute in progress), each with the jobs that ended OK and FAILED in it;
     * a minute with none is a row of zeros. A job counts once, in the minute of its final state:
     * a retried job's earlier failure leaves the count when it runs again. CANCELLED is left out.
     * {@link #throughputOfBatch} and {@link #throughput} add the rows' condition between the two halves.
     *
     * <p>The rows' bound is written out, not read from {@code hour}: the planner estimates it from
     * the index (now() is known when planning), while a subquery's value it cannot see and takes a
     * third of every finished row. At 10,000,000 rows that estimate passed jit_above_cost, and the
     * statement spent 216 ms compiling itself to read 4 index pages (ThroughputPlanTest).
     */
    String THROUGHPUT_HEAD = """
            WITH hour AS (
                SELECT date_bin('1 minute', now(), timestamptz 'epoch') - interval '59 minutes' AS since
            ), ended AS (
                SELECT date_bin('1 minute', finished_at, timestamptz 'epoch') AS minute,
                       count(*) FILTER (WHERE state = 'OK') AS ok, count(*) FILTER (WHERE state = 'FAILED') AS failed
                  FROM procq.job
                 WHERE state IN ('OK', 'FAILED')
                   AND finished_at >= date_bin('1 minute', now(), timestamptz 'epoch') - interval '59 minutes'
            """;
    String THROUGHPUT_TAIL = """
                 GROUP BY 1)
            SELECT m.start, coalesce(e.ok, 0) AS ok, coalesce(e.failed, 0) AS failed
              FROM hour, generate_series(hour.since, hour.since + interval '59 minutes', interval '1 minute') AS m(start)
              LEFT JOIN ended e ON e.minute = m.start
             ORDER BY m.start""";

    /** One batch's last hour (see {@link #THROUGHPUT_HEAD}): reads only its last hour's rows, from job_batch_finished_idx. */
    @SqlQuery(THROUGHPUT_HEAD + "AND batch_id = :batch\n" + THROUGHPUT_TAIL)
    @RegisterConstructorMapper(ThroughputBucket.class)
    List<ThroughputBucket> throughputOfBatch(@Bind("batch") long batchId);

    /** Every batch's last hour (see {@link #THROUGHPUT_HEAD}): reads only the last hour's rows, from job_finished_idx. */
    @SqlQuery(THROUGHPUT_HEAD + THROUGHPUT_TAIL)
    @RegisterConstructorMapper(ThroughputBucket.class)
    List<ThroughputBucket> throughput();

    @SqlUpdate("""
            UPDATE procq.job SET state = 'CANCELLED', finished_at = now(), error = 'cancelled'
             WHERE batch_id = :batch AND state = 'PENDING'""")
    int cancelPendingOfBatch(@Bind("batch") long batchId);

    /** Batch retry: FAILED jobs run again with a fresh allowance of attempts. */
    @SqlUpdate("""
            UPDATE procq.job SET state = 'PENDING', finished_at = NULL, run_at = now(),
                   max_attempts = attempts + :maxAttempts
             WHERE batch_id = :batch AND state = 'FAILED'""")
    int retryFailedOfBatch(@Bind("batch") long batchId, @Bind("maxAttempts") int maxAttempts);

    /**
     * Deletes up to {@code limit} final jobs (their attempts cascade) of a batch that finished
     * longer than {@code ageMillis} ago. The state guard sits on the deleted row itself, so a job
     * an operator retried a moment ago is left alone.
     */
    @SqlUpdate("""
            DELETE FROM procq.job
             WHERE id IN (SELECT j.id FROM procq.job j JOIN procq.batch b ON b.id = j.batch_id
                           WHERE j.batch_id = :batch
                             AND b.finished_at < now() - :ageMillis * interval '1 millisecond'
                           LIMIT :limit)
               AND state IN ('OK', 'FAILED', 'CANCELLED')""")
    int deleteFinishedOfBatch(@Bind("batch") long batchId, @Bind("ageMillis") long ageMillis, @Bind("limit") int limit);
}
