package dev.procq.api;

import dev.procq.store.WorkerDao;
import io.javalin.http.Context;
import org.jdbi.v3.core.Jdbi;

/** /api/v1/workers: the worker runs heard from in the last hour, with what each holds now. */
final class WorkerHandlers {
    /** More runs than any one page can show usefully; a fleet that large is read with SQL (db/ops/workers.sql). */
    static final int MAX_WORKERS = 500;

    private final Jdbi jdbi;

    WorkerHandlers(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    void list(Context ctx) {
        ctx.json(jdbi.withExtension(WorkerDao.class, dao -> dao.listRecent(MAX_WORKERS)).stream()
                .map(Views.Worker::of).toList());
    }
}
