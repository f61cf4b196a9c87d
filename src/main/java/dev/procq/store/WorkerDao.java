package dev.procq.store;

import java.util.List;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
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

    /**
     * {@code metricsPort} is where this run serves /metrics, or null when it serves none;
     * {@code version} its procq release, or null for a build run from classes.
     */
    @SqlQuery("""
            INSERT INTO procq.worker (host, pid, concurrency, types, metrics_port, version)
            VALUES (:host, :pid, :concurrency, :types, :metricsPort, :version)
            RETURNING id""")
    long register(@Bind("host") String host, @Bind("pid") long pid, @Bind("concurrency") int concurrency,
                  @Bind("types") String[] types, @Bind("metricsPort") Integer metricsPort,
                  @Bind("version") String version);

    /** A run that serves no /metrics of its own and has no release version. */
    default long register(String host, long pid, int concurrency, String[] types) {
        return register(host, pid, concurrency, types, null, null);
    }

    @SqlQuery("SELECT " + RUN_TAG + " FROM procq.worker WHERE id = :id")
    String runTag(@Bind("id") long id);

    /** Run tags of earlier runs on this host, newest first; their children may have outlived them. */
    @SqlQuery("SELECT " + RUN_TAG + " " + """
             FROM procq.worker
             WHERE host = :host AND id <> :self AND started_at > now() - interval '30 days'
             ORDER BY id DESC LIMIT 1000""")
    java.util.List<String> earlierRunsOnHost(@Bind("host") String host, @Bind("self") long self);

    /**
     * Worker runs heard from in the last hour, newest first: every live run (each renews its
     * heartbeat every few seconds, with or without jobs) and the ones that stopped or crashed
     * lately. A crashed run never records a stop, so without the hour every crash would be listed
     * for good. Each run's jobs are counted from the partial index on RUNNING jobs.
     */
    @SqlQuery("""
            SELECT w.id, w.host, w.pid, w.version, w.metrics_port, w.concurrency, w.types, w.started_at,
                   w.heartbeat_at, w.stopped_at, w.host_hold, extract(epoch FROM now() - w.heartbeat_at) AS heartbeat_age_seconds,
                   (SELECT count(*) FROM procq.job j WHERE j.state = 'RUNNING' AND j.worker_id = w.id) AS running
              FROM procq.worker w
             WHERE w.heartbeat_at > now() - interval '1 hour'
             ORDER BY w.id DESC
             LIMIT :limit""")
    @RegisterConstructorMapper(WorkerRow.class)
    List<WorkerRow> listRecent(@Bind("limit") int limit);

    @SqlUpdate("UPDATE procq.worker SET heartbeat_at = now() WHERE id = :id")
    int heartbeat(@Bind("id") long id);

    /** Why the worker holds new starts now (memory, load, pressure), or null once it starts children again. */
    @SqlUpdate("UPDATE procq.worker SET host_hold = :hostHold WHERE id = :id")
    int setHostHold(@Bind("id") long id, @Bind("hostHold") String hostHold);

    @SqlUpdate("UPDATE procq.worker SET stopped_at = now(), host_hold = NULL WHERE id = :id")
    int markStopped(@Bind("id") long id);
}
