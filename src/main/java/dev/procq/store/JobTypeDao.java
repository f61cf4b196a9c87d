package dev.procq.store;

import dev.procq.config.FailureBudget;
import dev.procq.config.JobType;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.BindMethods;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** procq.job_type: seeded from the job-types file, then steered by operators. */
@RegisterConstructorMapper(JobTypeRow.class)
@RegisterConstructorMapper(TypeRunning.class)
@RegisterConstructorMapper(TypeThroughput.class)
public interface JobTypeDao {
    String COLUMNS = "name, concurrency, paused, exit_codes::text AS exit_codes, global_concurrency, key_concurrency,"
            + " key_rate, rate, halt_failed, halt_failed_percent, halt_after, halt_in_a_row, halt_seeded";

    /**
     * The file seeds a type once; afterwards the row (an operator's UPDATE) wins. A row from before
     * the default failure budget was kept here (halt_seeded false) gets the file's budget once.
     */
    @SqlUpdate("""
            INSERT INTO procq.job_type AS t (name, concurrency, global_concurrency, key_concurrency, key_rate, rate,
                                             halt_failed, halt_failed_percent, halt_after, halt_in_a_row)
            VALUES (:name, :concurrency, :globalConcurrency, :keyConcurrency, :keyRate, :rate,
                    :halt.failed, :halt.failedPercent, :halt.after, :halt.inARow)
            ON CONFLICT (name) DO UPDATE
               SET halt_failed = excluded.halt_failed, halt_failed_percent = excluded.halt_failed_percent,
                   halt_after = excluded.halt_after, halt_in_a_row = excluded.halt_in_a_row, halt_seeded = true
             WHERE NOT t.halt_seeded""")
    int insertIfMissing(@Bind("name") String name, @Bind("concurrency") int concurrency,
                        @Bind("globalConcurrency") Integer globalConcurrency, @Bind("keyConcurrency") Integer keyConcurrency,
                        @Bind("keyRate") Double keyRate, @Bind("rate") Double rate,
                        @BindMethods("halt") FailureBudget halt);

    /** A type seeded without cluster-wide limits or failure budget. */
    default int insertIfMissing(String name, int concurrency) {
        return insertIfMissing(name, concurrency, null, null, null, null, FailureBudget.NONE);
    }

    /** Seeds the file's type: its concurrency, cluster-wide limits and default failure budget. */
    default int insertIfMissing(JobType type) {
        return insertIfMissing(type.name(), type.concurrency(), type.globalConcurrency(), type.keyConcurrency(),
                type.keyRate(), type.rate(), type.halt());
    }

    @SqlQuery("SELECT " + COLUMNS + " FROM procq.job_type ORDER BY name")
    List<JobTypeRow> list();

    @SqlQuery("SELECT " + COLUMNS + " FROM procq.job_type WHERE name = :name")
    Optional<JobTypeRow> find(@Bind("name") String name);

    /** An operator's exit-code rules (JSON text, already checked), or null for the file's. */
    @SqlUpdate("""
            UPDATE procq.job_type SET exit_codes = CAST(:exitCodes AS jsonb), updated_at = now()
             WHERE name = :name""")
    int setExitCodes(@Bind("name") String name, @Bind("exitCodes") String exitCodes);

    /** An operator's default failure budget for the type's new batches ({@link FailureBudget#NONE}: none). */
    @SqlUpdate("""
            UPDATE procq.job_type
               SET halt_failed = :halt.failed, halt_failed_percent = :halt.failedPercent, halt_after = :halt.after,
                   halt_in_a_row = :halt.inARow, halt_seeded = true, updated_at = now()
             WHERE name = :name""")
    int setHalt(@Bind("name") String name, @BindMethods("halt") FailureBudget halt);

    /**
     * Changes what is given (null: unchanged). A limit changes only where its {@code set...}
     * flag is true, to the value given, null meaning none.
     */
    @SqlQuery("""
            UPDATE procq.job_type
               SET concurrency = coalesce(:concurrency, concurrency), paused = coalesce(:paused, paused),
                   global_concurrency = CASE WHEN :setGlobalConcurrency THEN :globalConcurrency ELSE global_concurrency END,
                   key_concurrency = CASE WHEN :setKeyConcurrency THEN :keyConcurrency ELSE key_concurrency END,
                   key_rate = CASE WHEN :setKeyRate THEN :keyRate ELSE key_rate END,
                   rate = CASE WHEN :setRate THEN :rate ELSE rate END,
                   updated_at = now()
             WHERE name = :name
            RETURNING\s""" + COLUMNS)
    Optional<JobTypeRow> update(@Bind("name") String name, @Bind("concurrency") Integer concurrency,
                                @Bind("paused") Boolean paused,
                                @Bind("setGlobalConcurrency") boolean setGlobalConcurrency,
                                @Bind("globalConcurrency") Integer globalConcurrency,
                                @Bind("setKeyConcurrency") boolean setKeyConcurrency,
                                @Bind("keyConcurrency") Integer keyConcurrency,
                                @Bind("setKeyRate") boolean setKeyRate, @Bind("keyRate") Double keyRate,
                                @Bind("setRate") boolean setRate, @Bind("rate") Double rate);

    default Optional<JobTypeRow> update(String name, Integer concurrency, Boolean paused) {
        return update(name, concurrency, paused, false, null, false, null, false, null, false, null);
    }

    /** Keys of a type with jobs running or started in the last minute, busiest first (procq.job_key_usage). */
    @SqlQuery("""
            SELECT key, running, started_last_minute FROM procq.job_key_usage
             WHERE type = :type ORDER BY running DESC, started_last_minute DESC, key LIMIT :limit""")
    @RegisterConstructorMapper(KeyUsage.class)
    List<KeyUsage> busiestKeys(@Bind("type") String type, @Bind("limit") int limit);

    /** Each type's RUNNING jobs per worker now (one row per type and worker), from the partial index on RUNNING rows. */
    @SqlQuery("""
            SELECT type, worker_id, count(*) AS running
              FROM procq.job WHERE state = 'RUNNING'
             GROUP BY type, worker_id
             ORDER BY type, worker_id""")
    List<TypeRunning> runningByTypeAndWorker();

    /**
     * Attempts that ended in the last minute, per type: a range of job_attempt_finished_idx, then
     * each attempt's job by its key. Costs one index entry and one job row per attempt of the
     * last minute, never the attempts kept before it.
     */
    @SqlQuery("""
            SELECT j.type, count(*) AS finished, count(*) FILTER (WHERE a.outcome = 'OK') AS ok
              FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id
             WHERE a.finished_at > now() - interval '1 minute'
             GROUP BY j.type""")
    List<TypeThroughput> finishedLastMinuteByType();
}
