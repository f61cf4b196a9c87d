package dev.procq.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.procq.store.AttemptDao;
import dev.procq.store.BatchDao;
import dev.procq.store.JobDao;
import dev.procq.store.JobRow;
import io.javalin.http.Context;
import java.util.List;

/** /api/v1/jobs/{id}: one job with every attempt. */
final class JobHandlers {
    private final org.jdbi.v3.core.Jdbi jdbi;

    JobHandlers(org.jdbi.v3.core.Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    void get(Context ctx) {
        long id = BatchHandlers.pathId(ctx, "job");
        String owner = Caller.of(ctx).ownerFilter();
        // Another token's job is 404 to a submit token, exactly like a job that does not exist.
        JobRow row = jdbi.withExtension(JobDao.class, dao -> dao.find(id))
                .filter(job -> owner == null || jdbi.withExtension(BatchDao.class, dao -> dao.findOwnedBy(job.batchId(), owner)).isPresent())
                .orElseThrow(() -> ApiError.notFound("job " + id));
        List<Views.Attempt> attempts = jdbi.withExtension(AttemptDao.class, dao -> dao.listOfJob(id))
                .stream().map(Views.Attempt::of).toList();
        ctx.json(Views.Job.of(row, meta(row), attempts));
    }

    /** The stored jsonb, passed through as JSON rather than as a string. */
    static Object meta(JobRow row) {
        if (row.meta() == null) return null;
        try {
            return ApiServer.JSON.readTree(row.meta());
        } catch (JsonProcessingException e) {
            return row.meta();
        }
    }
}
