package dev.procq.store;

import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** procq.job_rate: written by the claim statement (procq.job_type_claim); rows that hold nothing back are deleted. */
public interface JobRateDao {
    /**
     * Deletes at most {@code limit} rows whose next start passed more than {@code idleMillis} ago.
     * SKIP LOCKED passes over the rows a claim is advancing now, and over those another worker is deleting.
     */
    @SqlUpdate("""
            DELETE FROM procq.job_rate r
             WHERE (r.type, r.key) IN (SELECT type, key FROM procq.job_rate
                                        WHERE next_start_at < now() - :idleMillis * interval '1 millisecond'
                                        LIMIT :limit FOR UPDATE SKIP LOCKED)""")
    int deletePassedBefore(@Bind("idleMillis") long idleMillis, @Bind("limit") int limit);
}
