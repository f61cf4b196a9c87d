package dev.procq.store;

import java.util.List;
import java.util.Optional;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** procq.job_type: seeded from the job-types file, then steered by operators. */
@RegisterConstructorMapper(JobTypeRow.class)
public interface JobTypeDao {
    /** The file seeds a type once; afterwards the row (an operator's UPDATE) wins. */
    @SqlUpdate("""
            INSERT INTO procq.job_type (name, concurrency) VALUES (:name, :concurrency)
            ON CONFLICT (name) DO NOTHING""")
    int insertIfMissing(@Bind("name") String name, @Bind("concurrency") int concurrency);

    String COLUMNS = "name, concurrency, paused, exit_codes::text AS exit_codes";

    @SqlQuery("SELECT " + COLUMNS + " FROM procq.job_type ORDER BY name")
    List<JobTypeRow> list();

    @SqlQuery("SELECT " + COLUMNS + " FROM procq.job_type WHERE name = :name")
    Optional<JobTypeRow> find(@Bind("name") String name);

    /** An operator's exit-code rules (JSON text, already checked), or null for the file's. */
    @SqlUpdate("""
            UPDATE procq.job_type SET exit_codes = CAST(:exitCodes AS jsonb), updated_at = now()
             WHERE name = :name""")
    int setExitCodes(@Bind("name") String name, @Bind("exitCodes") String exitCodes);

    @SqlQuery("""
            UPDATE procq.job_type
               SET concurrency = coalesce(:concurrency, concurrency), paused = coalesce(:paused, paused),
                   updated_at = now()
             WHERE name = :name
            RETURNING name, concurrency, paused, exit_codes::text AS exit_codes""")
    Optional<JobTypeRow> update(@Bind("name") String name, @Bind("concurrency") Integer concurrency,
                                @Bind("paused") Boolean paused);
}
