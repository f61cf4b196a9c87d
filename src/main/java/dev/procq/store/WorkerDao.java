package dev.procq.store;

import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** procq.worker: one row per worker run. */
public interface WorkerDao {
    /**
     * Names one worker run on its host: id, pid and start to the microsecond. Worker ids are only
     * unique within one database; two procq installations on one host must never take each
     * other's children for orphans.
     */
    String RUN_TAG = "id || '.' || pid || '.' || (extract(epoch FROM started_at) * 1000000)::bigint";

    /** {@code metricsPort} is where this run serves /metrics, or null when it serves none. */
    @SqlQuery("""
            INSERT INTO procq.worker (host, pid, concurrency, types, metrics_port)
            VALUES (:host, :pid, :concurrency, :types, :metricsPort)
            RETURNING id""")
    long register(@Bind("host") String host, @Bind("pid") long pid, @Bind("concurrency") int concurrency,
                  @Bind("types") String[] types, @Bind("metricsPort") Integer metricsPort);

    /** A run that serves no /metrics of its own. */
    default long register(String host, long pid, int concurrency, String[] types) {
        return register(host, pid, concurrency, types, null);
    }

    @SqlQuery("SELECT " + RUN_TAG + " FROM procq.worker WHERE id = :id")
    String runTag(@Bind("id") long id);

    /** Run tags of earlier runs on this host, newest first; their children may have outlived them. */
    @SqlQuery("SELECT " + RUN_TAG + " " + """
             FROM procq.worker
             WHERE host = :host AND id <> :self AND started_at > now() - interval '30 days'
             ORDER BY id DESC LIMIT 1000""")
    java.util.List<String> earlierRunsOnHost(@Bind("host") String host, @Bind("self") long self);

    @SqlUpdate("UPDATE procq.worker SET heartbeat_at = now() WHERE id = :id")
    int heartbeat(@Bind("id") long id);

    @SqlUpdate("UPDATE procq.worker SET stopped_at = now() WHERE id = :id")
    int markStopped(@Bind("id") long id);
}
