package dev.procq.store;

import java.util.List;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/** procq.job_attempt: one row per finished attempt, written by JobDao's statements. */
@RegisterConstructorMapper(AttemptRow.class)
public interface AttemptDao {
    @SqlQuery("""
            SELECT job_id, attempt, worker_id, started_at, finished_at, outcome, exit_code, signal,
                   duration_ms, error, output_tail, cpu_user_ms, cpu_system_ms, max_rss_kb, decided_by,
                   memory_peak_bytes
              FROM procq.job_attempt WHERE job_id = :job ORDER BY attempt""")
    List<AttemptRow> listOfJob(@Bind("job") long jobId);
}
