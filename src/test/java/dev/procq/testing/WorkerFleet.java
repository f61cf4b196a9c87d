package dev.procq.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The worker JVMs one test starts against its class's database, stopped together. Nothing of one
 * test may run on into the next: {@link #stopAll()} first cancels every job still PENDING or
 * RUNNING, then stops every worker.
 */
public final class WorkerFleet {
    private final PostgresExtension postgres;
    private final Path jobTypes;
    private final List<WorkerProcess> workers = new ArrayList<>();

    public WorkerFleet(PostgresExtension postgres, Path jobTypes) {
        this.postgres = postgres;
        this.jobTypes = jobTypes;
    }

    /** A worker with the class's job types, the given concurrency and lease, and {@code extra} on top. */
    public WorkerProcess start(String name, int concurrency, String lease, Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(WorkerProcess.environment(postgres, jobTypes, concurrency, lease));
        env.putAll(extra);
        WorkerProcess worker = WorkerProcess.start(name, env);
        workers.add(worker);
        return worker;
    }

    public void stopAll() {
        postgres.database().jdbi().useHandle(h -> h.execute(
                "UPDATE procq.job SET state = 'CANCELLED', finished_at = now(), lease_expires_at = NULL"
                        + " WHERE state IN ('PENDING', 'RUNNING')"));
        workers.forEach(WorkerProcess::close);
        workers.clear();
    }
}
