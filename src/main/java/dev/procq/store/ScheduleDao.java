package dev.procq.store;

import java.time.OffsetDateTime;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.BindList;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/**
 * procq.schedule: defined over the API (or in psql), advanced by the scheduler of every api, worker
 * and dev process. A tick is handled by the one process whose {@link #advanceIfDue} moves
 * next_run_at on from the tick it read, in the transaction that records the tick's batch.
 */
@RegisterConstructorMapper(ScheduleRow.class)
@RegisterConstructorMapper(ScheduleBatch.class)
public interface ScheduleDao {
    String COLUMNS = """
            id, name, cron, time_zone, body::text AS body, type, overlap, catch_up, paused, next_run_at,
            queued_tick_at, last_error, owner, created_at, updated_at""";

    /** Inserts a schedule; empty when the name is taken. */
    @SqlQuery("""
            INSERT INTO procq.schedule (name, cron, time_zone, body, overlap, catch_up, paused, next_run_at, owner)
            VALUES (:name, :cron, :timeZone, CAST(:body AS jsonb), :overlap, :catchUp, :paused, :nextRunAt, :owner)
            ON CONFLICT (name) DO NOTHING
            RETURNING id""")
    Optional<Long> insert(@Bind("name") String name, @Bind("cron") String cron, @Bind("timeZone") String timeZone,
                          @Bind("body") String body, @Bind("overlap") String overlap, @Bind("catchUp") String catchUp,
                          @Bind("paused") boolean paused, @Bind("nextRunAt") OffsetDateTime nextRunAt,
                          @Bind("owner") String owner);

    /**
     * Replaces the definition; {@code nextRunAt} is the next tick of the (possibly new) cron from now,
     * kept as it was when neither cron nor zone nor paused changed. False when no such schedule.
     */
    @SqlUpdate("""
            UPDATE procq.schedule
               SET name = :name, cron = :cron, time_zone = :timeZone, body = CAST(:body AS jsonb),
                   overlap = :overlap, catch_up = :catchUp, paused = :paused
             WHERE id = :id""")
    boolean update(@Bind("id") long id, @Bind("name") String name, @Bind("cron") String cron,
                   @Bind("timeZone") String timeZone, @Bind("body") String body, @Bind("overlap") String overlap,
                   @Bind("catchUp") String catchUp, @Bind("paused") boolean paused);

    /** Sets the next tick of a schedule whose trigger cleared it (resume, new cron or zone), unless a scheduler did. */
    @SqlUpdate("UPDATE procq.schedule SET next_run_at = :next WHERE id = :id AND next_run_at IS NULL")
    boolean setNextIfUnset(@Bind("id") long id, @Bind("next") OffsetDateTime next);

    @SqlUpdate("DELETE FROM procq.schedule WHERE id = :id")
    boolean delete(@Bind("id") long id);

    @SqlQuery("SELECT " + COLUMNS + " FROM procq.schedule WHERE id = :id AND (CAST(:owner AS text) IS NULL OR owner = :owner)")
    Optional<ScheduleRow> findOwnedBy(@Bind("id") long id, @Bind("owner") String owner);

    @SqlQuery("SELECT " + COLUMNS + " FROM procq.schedule WHERE name = :name AND (CAST(:owner AS text) IS NULL OR owner = :owner)")
    Optional<ScheduleRow> findByNameOwnedBy(@Bind("name") String name, @Bind("owner") String owner);

    @SqlQuery("SELECT " + COLUMNS + " FROM procq.schedule WHERE id = :id")
    Optional<ScheduleRow> find(@Bind("id") long id);

    /** Every schedule (of {@code owner}; null: of all), by name. */
    @SqlQuery("SELECT " + COLUMNS + " FROM procq.schedule WHERE CAST(:owner AS text) IS NULL OR owner = :owner ORDER BY name")
    List<ScheduleRow> listOwnedBy(@Bind("owner") String owner);

    /**
     * The schedules a scheduler has something to do for: a tick due, a next tick to compute, or a
     * queued tick that may be waiting for nothing any more. Paused ones never.
     */
    @SqlQuery("SELECT " + COLUMNS + """
             FROM procq.schedule
            WHERE NOT paused AND (next_run_at IS NULL OR next_run_at <= :now OR queued_tick_at IS NOT NULL)
            ORDER BY next_run_at NULLS FIRST, id""")
    List<ScheduleRow> findDue(@Bind("now") OffsetDateTime now);

    /**
     * The compare-and-set that makes a tick one batch: moves next_run_at from {@code due} to
     * {@code next} on a schedule no other transaction holds. False when another process has
     * handled the tick, holds the row now (its transaction handles it), or the schedule was paused.
     * The row stays locked until this transaction ends, so no one handles the schedule meanwhile.
     */
    @SqlUpdate("""
            UPDATE procq.schedule SET next_run_at = :next
             WHERE id = :id AND next_run_at = :due AND NOT paused
               AND id = (SELECT id FROM procq.schedule WHERE id = :id FOR UPDATE SKIP LOCKED)""")
    boolean advanceIfDue(@Bind("id") long id, @Bind("due") OffsetDateTime due, @Bind("next") OffsetDateTime next);

    /** queue-one: the waiting tick, set only while none waits. */
    @SqlUpdate("UPDATE procq.schedule SET queued_tick_at = :tick WHERE id = :id AND queued_tick_at IS NULL")
    boolean queueTick(@Bind("id") long id, @Bind("tick") OffsetDateTime tick);

    /** Takes the waiting tick, like {@link #advanceIfDue}: false when another process took it or holds the row. */
    @SqlUpdate("""
            UPDATE procq.schedule SET queued_tick_at = NULL
             WHERE id = :id AND queued_tick_at = :tick AND NOT paused
               AND id = (SELECT id FROM procq.schedule WHERE id = :id FOR UPDATE SKIP LOCKED)""")
    boolean takeQueuedTick(@Bind("id") long id, @Bind("tick") OffsetDateTime tick);

    /** Why the last tick could not submit its batch; null once one did. */
    @SqlUpdate("UPDATE procq.schedule SET last_error = :error WHERE id = :id AND last_error IS DISTINCT FROM :error")
    int setLastError(@Bind("id") long id, @Bind("error") String error);

    /** Links a batch intake just recorded to the schedule and tick it was submitted for. */
    @SqlUpdate("UPDATE procq.batch SET schedule_id = :scheduleId, schedule_tick_at = :tick WHERE id = :batchId")
    int markBatch(@Bind("batchId") long batchId, @Bind("scheduleId") long scheduleId, @Bind("tick") OffsetDateTime tick);

    /** The schedule's batches that are not DONE or CANCELLED: what its overlap policy looks at. */
    @SqlQuery("""
            SELECT id FROM procq.batch
             WHERE schedule_id = :id AND state NOT IN ('DONE', 'CANCELLED')
             ORDER BY id""")
    List<Long> activeBatches(@Bind("id") long scheduleId);

    /** The last {@code perSchedule} batches of each of these schedules, newest tick first. */
    @SqlQuery("""
            SELECT b.id, b.schedule_id, b.schedule_tick_at AS tick_at, b.state, b.total, b.ok, b.failed,
                   b.created_at, b.finished_at
              FROM unnest(CAST(ARRAY[<ids>] AS bigint[])) AS s(id)
             CROSS JOIN LATERAL (
                   SELECT * FROM procq.batch
                    WHERE schedule_id = s.id
                    ORDER BY schedule_tick_at DESC
                    LIMIT :perSchedule) b
             ORDER BY b.schedule_id, b.schedule_tick_at DESC""")
    List<ScheduleBatch> recentBatches(@BindList("ids") Collection<Long> scheduleIds, @Bind("perSchedule") int perSchedule);
}
