package dev.procq.store;

import java.util.List;
import java.util.Optional;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.GetGeneratedKeys;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** procq.batch: created by intake, counted by the job triggers, read by status. */
@RegisterConstructorMapper(BatchRow.class)
public interface BatchDao {
    String COLUMNS = """
            id, type, priority, state, total, pending, running, ok, failed, cancelled,
            created_at, started_at, finished_at, paused, halted_at, halt_reason,
            halt_failed, halt_failed_percent, halt_after, halt_in_a_row, webhook_url, schedule_id, schedule_tick_at""";

    /** Inserts a batch without an owner (no tokens); see {@link #insertUnlessKeyUsed(String, int, String, String)}. */
    default Optional<Long> insertUnlessKeyUsed(String type, int priority, String idempotencyKey) {
        return insertUnlessKeyUsed(type, priority, idempotencyKey, null);
    }

    /**
     * Inserts a batch whose total is filled in once its jobs are streamed; empty if this owner used
     * the key before. {@code owner} is the submitting token's id (null without tokens).
     */
    @SqlQuery("""
            INSERT INTO procq.batch (type, priority, idempotency_key, owner, total)
            VALUES (:type, :priority, :idempotencyKey, :owner, 0)
            ON CONFLICT ((coalesce(owner, '')), idempotency_key) DO NOTHING
            RETURNING id""")
    Optional<Long> insertUnlessKeyUsed(@Bind("type") String type, @Bind("priority") int priority,
                                       @Bind("idempotencyKey") String idempotencyKey, @Bind("owner") String owner);

    /**
     * Folds the counter changes waiting in procq.batch_delta into their batches (claims and
     * results written while another transaction held a batch's row; see R__job_count_changes.sql),
     * passing over rows other transactions hold; returns the changes folded.
     */
    @SqlQuery("SELECT procq.batch_fold_deltas()")
    long foldCountDeltas();

    @SqlUpdate("UPDATE procq.batch SET total = :total WHERE id = :id")
    int setTotal(@Bind("id") long id, @Bind("total") long total);

    /** The batch's failure budget; null for a rule it does not have. */
    @SqlUpdate("""
            UPDATE procq.batch
               SET halt_failed = :failed, halt_failed_percent = :failedPercent, halt_after = :after,
                   halt_in_a_row = :inARow
             WHERE id = :id""")
    int setBudget(@Bind("id") long id, @Bind("failed") Long failed, @Bind("failedPercent") Double failedPercent,
                  @Bind("after") Long after, @Bind("inARow") Long inARow);

    /** Where the batch's end is announced (an allowlisted URL); set before anything of it can end. */
    @SqlUpdate("UPDATE procq.batch SET webhook_url = :url WHERE id = :id")
    int setWebhook(@Bind("id") long id, @Bind("url") String url);

    /** Pauses the batch unless every job is final or it was cancelled; returns its state after (none: no such batch). */
    @SqlQuery("SELECT s FROM procq.pause_batch(:id) AS s WHERE s IS NOT NULL")
    Optional<String> pause(@Bind("id") long id);

    /** Lifts a pause or a halt (see procq.resume_batch) and wakes the workers; returns its state after. */
    @SqlQuery("SELECT s FROM procq.resume_batch(:id) AS s WHERE s IS NOT NULL")
    Optional<String> resume(@Bind("id") long id);

    /** A priority given after the targets in a JSON body: the batch and its rows follow it. */
    @SqlUpdate("""
            WITH b AS (UPDATE procq.batch SET priority = :priority WHERE id = :id RETURNING id)
            UPDATE procq.job SET priority = :priority WHERE batch_id IN (SELECT id FROM b)""")
    int setPriority(@Bind("id") long id, @Bind("priority") int priority);

    @SqlQuery("SELECT " + COLUMNS + " FROM procq.batch WHERE id = :id")
    Optional<BatchRow> find(@Bind("id") long id);

    /** The batch if {@code owner} owns it; any batch when {@code owner} is null (a caller who sees every batch). */
    @SqlQuery("SELECT " + COLUMNS + " FROM procq.batch WHERE id = :id AND (CAST(:owner AS text) IS NULL OR owner = :owner)")
    Optional<BatchRow> findOwnedBy(@Bind("id") long id, @Bind("owner") String owner);

    default Optional<BatchRow> findByIdempotencyKey(String key) {
        return findByIdempotencyKey(key, null);
    }

    /** The batch this owner (null: no tokens) created with this Idempotency-Key. */
    @SqlQuery("SELECT " + COLUMNS + " FROM procq.batch WHERE idempotency_key = :key AND coalesce(owner, '') = coalesce(:owner, '')")
    Optional<BatchRow> findByIdempotencyKey(@Bind("key") String key, @Bind("owner") String owner);

    /** Newest first, keyset-paged: pass the smallest id of the previous page as {@code before}. */
    @SqlQuery("SELECT " + COLUMNS + " FROM procq.batch WHERE id < :before ORDER BY id DESC LIMIT :limit")
    List<BatchRow> listBefore(@Bind("before") long before, @Bind("limit") int limit);

    /** {@link #listBefore} of one owner's batches only. */
    @SqlQuery("SELECT " + COLUMNS + " FROM procq.batch WHERE owner = :owner AND id < :before ORDER BY id DESC LIMIT :limit")
    List<BatchRow> listBeforeOwnedBy(@Bind("owner") String owner, @Bind("before") long before, @Bind("limit") int limit);

    /** Marks the batch cancelled; its PENDING jobs are cancelled separately, before this, to keep lock order job -> batch. */
    @SqlUpdate("UPDATE procq.batch SET cancel_requested = true WHERE id = :id")
    int requestCancel(@Bind("id") long id);

    @SqlUpdate("UPDATE procq.batch SET cancel_requested = false WHERE id = :id")
    int clearCancel(@Bind("id") long id);

    /** Ids of batches whose cancel was requested and that still have RUNNING jobs held by this worker. */
    @SqlQuery("""
            SELECT DISTINCT j.batch_id FROM procq.job j JOIN procq.batch b ON b.id = j.batch_id
             WHERE j.state = 'RUNNING' AND j.worker_id = :worker AND b.cancel_requested""")
    List<Long> cancelledWithRunningJobsOf(@Bind("worker") long workerId);

    /** Jobs per type and state, summed from the batch counters: never counts job rows; and the held batches per type. */
    @SqlQuery("""
            SELECT type, sum(pending) AS pending, sum(running) AS running, sum(ok) AS ok,
                   sum(failed) AS failed, sum(cancelled) AS cancelled,
                   count(*) FILTER (WHERE state = 'PAUSED') AS paused_batches,
                   count(*) FILTER (WHERE state = 'HALTED') AS halted_batches
              FROM procq.batch GROUP BY type ORDER BY type""")
    @RegisterConstructorMapper(TypeJobCounts.class)
    List<TypeJobCounts> countJobsByType();

    /** Batches that finished longer than {@code ageMillis} ago, oldest first: what retention removes. */
    @SqlQuery("""
            SELECT id FROM procq.batch
             WHERE finished_at < now() - :ageMillis * interval '1 millisecond'
             ORDER BY finished_at, id
             LIMIT :limit""")
    List<Long> findFinishedBefore(@Bind("ageMillis") long ageMillis, @Bind("limit") int limit);

    /** Deletes the batch row once its jobs are gone, if it is still finished and old enough. */
    @SqlUpdate("""
            DELETE FROM procq.batch b
             WHERE b.id = :id AND b.finished_at < now() - :ageMillis * interval '1 millisecond'
               AND NOT EXISTS (SELECT 1 FROM procq.job j WHERE j.batch_id = b.id)""")
    int deleteIfEmptyAndFinishedBefore(@Bind("id") long id, @Bind("ageMillis") long ageMillis);
}
