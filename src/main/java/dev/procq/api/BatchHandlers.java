package dev.procq.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.config.FailureBudget;
import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import dev.procq.config.SubmissionLimits;
import dev.procq.intake.BatchOptions;
import dev.procq.intake.BatchReceipt;
import dev.procq.intake.Intake;
import dev.procq.intake.IntakeException;
import dev.procq.store.BatchControl;
import dev.procq.store.BatchDao;
import dev.procq.store.BatchRow;
import dev.procq.store.JobDao;
import dev.procq.store.JobRow;
import dev.procq.store.JobState;
import dev.procq.store.WebhookAttemptRow;
import dev.procq.store.WebhookDao;
import io.javalin.http.Context;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** /api/v1/batches: submit, read, page, search, cancel, retry, pause, resume; and throughput, per batch and in all. */
final class BatchHandlers {
    private static final Logger log = LoggerFactory.getLogger(BatchHandlers.class);
    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 1000;

    private final Jdbi jdbi;
    private final Intake intake;
    private final JobTypes types;
    private final BatchControl control;
    private final SubmissionLimits limits;
    private final SubmissionGate gate;

    BatchHandlers(Jdbi jdbi, Intake intake, JobTypes types, SubmissionLimits limits) {
        this.jdbi = jdbi;
        this.intake = intake;
        this.types = types;
        this.control = new BatchControl(jdbi);
        this.limits = limits;
        this.gate = new SubmissionGate(limits.perClient(), limits.window().toSeconds());
    }

    void create(Context ctx) {
        Caller caller = Caller.of(ctx);
        // A client is its token; without tokens, its address (the peer's, never a forwarded header).
        String client = caller.id() != null ? "token " + caller.id() : "address " + ctx.req().getRemoteAddr();
        SubmissionGate.Pass pass;
        try {
            pass = gate.enter(client);
        } catch (ApiError busy) {
            ctx.header("Retry-After", Long.toString(gate.retryAfterSeconds()));
            throw busy;
        }
        try (pass; SlowClientTimeout idle = SlowClientTimeout.set(ctx, limits.window())) {
            RequestBody body = new RequestBody(() -> new PacedBody(ctx.bodyInputStream(), limits));
            try {
                create(ctx, body, caller);
            } catch (IntakeException e) {
                // A body refused for its size is not read any further: that is the point of the limit;
                // nor is one refused for its slowness.
                if (e.status() == 408) {
                    log.warn("submission from {} cut off: {}", client, e.getMessage());
                    ctx.header("Connection", "close");
                }
                if (e.status() != 413 && e.status() != 408) body.drain();
                throw e;
            } catch (RuntimeException e) {
                body.drain();
                throw e;
            }
            // Answered early (a replayed Idempotency-Key): the client reads the answer once it has sent everything.
            body.drain();
        }
    }

    private void create(Context ctx, RequestBody body, Caller caller) {
        String key = ctx.header("Idempotency-Key");
        String contentType = ctx.contentType() == null ? "" : ctx.contentType().toLowerCase(Locale.ROOT);
        BatchReceipt receipt;
        if (contentType.startsWith("application/json")) {
            receipt = intake.submitJson(body, key, caller.owner());
        } else if (contentType.startsWith("text/plain")) {
            String type = ctx.queryParam("type");
            if (type == null || type.isBlank()) {
                throw ApiError.badRequest("text/plain bodies need the type in the query string: ?type=NAME");
            }
            int priority = intParam(ctx, "priority", 0, Integer.MIN_VALUE, Integer.MAX_VALUE);
            String halt = ctx.queryParam("halt");
            FailureBudget budget = halt == null ? null : Intake.budget(halt, "halt");
            String webhook = ctx.queryParam("webhook");
            receipt = intake.submitLines(body, new BatchOptions(type, priority, key, budget,
                    webhook == null ? null : intake.webhookUrl(webhook, "webhook")), caller.owner());
        } else {
            throw new ApiError(415, "Content-Type must be application/json or text/plain, got '"
                    + (contentType.isEmpty() ? "none" : contentType) + "'", java.util.Map.of());
        }
        ctx.header("Location", "/api/v1/batches/" + receipt.id());
        ctx.status(receipt.replayed() ? 200 : 202)
                .json(new Views.Receipt(receipt.id(), receipt.type(), receipt.total(), receipt.scan()));
    }

    void get(Context ctx) {
        ctx.json(Views.Batch.of(find(ctx)));
    }

    /** The batch's webhook deliveries, oldest first, each with its tries. */
    void webhooks(Context ctx) {
        BatchRow batch = find(ctx);
        List<Views.WebhookDelivery> deliveries = jdbi.withExtension(WebhookDao.class, dao -> {
            Map<Long, List<WebhookAttemptRow>> attempts = dao.attemptsOfBatch(batch.id()).stream()
                    .collect(Collectors.groupingBy(WebhookAttemptRow::deliveryId));
            return dao.listOfBatch(batch.id()).stream()
                    .map(row -> Views.WebhookDelivery.of(row, attempts.getOrDefault(row.id(), List.of()))).toList();
        });
        ctx.json(new Views.WebhookDeliveries(batch.id(), batch.webhookUrl(), deliveries));
    }

    void list(Context ctx) {
        long before = longParam(ctx, "before", Long.MAX_VALUE);
        int limit = intParam(ctx, "limit", DEFAULT_PAGE, 1, MAX_PAGE);
        String owner = Caller.of(ctx).ownerFilter();
        List<BatchRow> rows = jdbi.withExtension(BatchDao.class,
                dao -> owner == null ? dao.listBefore(before, limit) : dao.listBeforeOwnedBy(owner, before, limit));
        String next = rows.size() == limit ? "/api/v1/batches?limit=" + limit + "&before=" + rows.get(rows.size() - 1).id() : null;
        ctx.json(new Views.Page<>(rows.stream().map(Views.Batch::of).toList(), next));
    }

    void jobs(Context ctx) {
        BatchRow batch = find(ctx);
        String state = ctx.queryParam("state");
        if (state != null) {
            state = state.toUpperCase(Locale.ROOT);
            try {
                JobState.valueOf(state);
            } catch (IllegalArgumentException e) {
                throw ApiError.badRequest("state must be one of PENDING, RUNNING, OK, FAILED, CANCELLED");
            }
        }
        String target = targetPrefix(ctx.queryParam("target"));
        long after = longParam(ctx, "after", 0);
        int limit = intParam(ctx, "limit", DEFAULT_PAGE * 2, 1, MAX_PAGE);
        String filter = state;
        List<JobRow> rows = jdbi.withExtension(JobDao.class, dao -> target == null
                ? dao.listOfBatch(batch.id(), filter, after, limit)
                : dao.listOfBatchByTarget(batch.id(), JobDao.prefixPattern(target), filter, after, limit));
        String next = rows.size() == limit
                ? "/api/v1/batches/" + batch.id() + "/jobs?limit=" + limit + (filter == null ? "" : "&state=" + filter)
                  + (target == null ? "" : "&target=" + URLEncoder.encode(target, StandardCharsets.UTF_8))
                  + "&after=" + rows.get(rows.size() - 1).id()
                : null;
        ctx.json(new Views.Page<>(rows.stream().map(row -> Views.Job.of(row, JobHandlers.meta(row), null)).toList(), next));
    }

    /**
     * {@code ?target=}: a case-sensitive prefix of the targets to list, null for all. A prefix, not
     * a substring, because a prefix is a range of an index however large the batch; a substring
     * would read every target of it. Empty means no filter; control characters, which no one types
     * into a search, and a prefix longer than the index holds are refused.
     */
    static String targetPrefix(String raw) {
        if (raw == null || raw.isEmpty()) return null;
        if (raw.length() > JobDao.TARGET_PREFIX_MAX) {
            throw ApiError.badRequest("target must be a prefix of at most " + JobDao.TARGET_PREFIX_MAX
                    + " characters, got " + raw.length());
        }
        for (int i = 0; i < raw.length(); i++) {
            if (Character.isISOControl(raw.charAt(i))) {
                throw ApiError.badRequest("target must not contain control characters (found U+"
                        + String.format("%04X", (int) raw.charAt(i)) + " at position " + i + ")");
            }
        }
        return raw;
    }

    /** The batch's jobs ended per minute over the last hour. */
    void throughput(Context ctx) {
        long id = find(ctx).id();
        ctx.json(Views.Throughput.of(jdbi.withExtension(JobDao.class, dao -> dao.throughputOfBatch(id))));
    }

    /**
     * Every batch's jobs ended per minute over the last hour. Counts only, so every scope reads
     * the whole queue's, as it reads each type's on /api/v1/types.
     */
    void queueThroughput(Context ctx) {
        ctx.json(Views.Throughput.of(jdbi.withExtension(JobDao.class, JobDao::throughput)));
    }

    void cancel(Context ctx) {
        long id = find(ctx).id();
        BatchRow row = control.cancel(id).orElseThrow(() -> ApiError.notFound("batch " + id));
        ctx.json(Views.Batch.of(row));
    }

    void retry(Context ctx) {
        long id = batchId(ctx);
        BatchRow existing = find(ctx);
        int maxAttempts = types.find(existing.type()).map(JobType::maxAttempts).orElse(JobType.DEFAULT_MAX_ATTEMPTS);
        BatchRow row = control.retry(id, maxAttempts).orElseThrow(() -> ApiError.notFound("batch " + id));
        ctx.json(Views.Batch.of(row));
    }

    void pause(Context ctx) {
        long id = find(ctx).id();
        BatchRow row = control.pause(id).orElseThrow(() -> ApiError.notFound("batch " + id));
        if (row.isOver()) throw conflict(row, "pause");
        ctx.json(Views.Batch.of(row));
    }

    /** Body optional: {"halt": {"failed": 500}} gives the batch a fresh budget ({} for none). */
    void resume(Context ctx) {
        long id = find(ctx).id();
        FailureBudget budget = resumeBudget(ctx.body());
        BatchRow row = control.resume(id, budget).orElseThrow(() -> ApiError.notFound("batch " + id));
        if (row.isOver()) throw conflict(row, "resume");
        ctx.json(Views.Batch.of(row));
    }

    private static ApiError conflict(BatchRow row, String action) {
        return new ApiError(409, "batch " + row.id() + " is " + row.state() + ": nothing to " + action
                + (row.state().equals("DONE") ? " (retry it to run its FAILED targets again)" : ""),
                java.util.Map.of("state", row.state()));
    }

    static FailureBudget resumeBudget(String body) {
        if (body == null || body.isBlank()) return null;
        JsonNode root = ApiServer.readObject(body, "body must be empty or a JSON object like {\"halt\": {\"failed\": 500}}");
        FailureBudget budget = null;
        var fields = root.fields();
        while (fields.hasNext()) {
            var field = fields.next();
            if (!field.getKey().equals("halt")) {
                throw ApiError.badRequest("unknown field '" + field.getKey() + "' (known: halt)");
            }
            budget = budgetOf(field.getValue());
        }
        return budget;
    }

    /** A {@code "halt"} field's value: an object like {"failed": 500}, {} for no budget; 400 naming the bad rule. */
    static FailureBudget budgetOf(JsonNode value) {
        if (!value.isObject()) {
            throw ApiError.badRequest("halt must be an object like {\"failed\": 500}; {} for no budget");
        }
        try {
            return FailureBudget.of(value);
        } catch (IllegalArgumentException e) {
            throw new ApiError(400, "halt." + e.getMessage(), java.util.Map.of("position", "halt"));
        }
    }

    /** The batch of the path, if the caller may see it: another token's batch is 404 to a submit token, as if it did not exist. */
    private BatchRow find(Context ctx) {
        long id = batchId(ctx);
        return visible(ctx, id).orElseThrow(() -> ApiError.notFound("batch " + id));
    }

    /** The batch if this caller may see it. */
    Optional<BatchRow> visible(Context ctx, long id) {
        String owner = Caller.of(ctx).ownerFilter();
        return jdbi.withExtension(BatchDao.class, dao -> dao.findOwnedBy(id, owner));
    }

    private static long batchId(Context ctx) {
        return pathId(ctx, "batch");
    }

    static long pathId(Context ctx, String what) {
        String raw = ctx.pathParam("id");
        try {
            long id = Long.parseLong(raw);
            if (id > 0) return id;
        } catch (NumberFormatException ignored) {
            // answered below
        }
        throw ApiError.badRequest(what + " id must be a positive whole number, got '" + raw + "'");
    }

    private static int intParam(Context ctx, String name, int defaultValue, int min, int max) {
        long value = longParam(ctx, name, defaultValue);
        if (value < min || value > max) throw ApiError.badRequest(name + " must be between " + min + " and " + max);
        return (int) value;
    }

    private static long longParam(Context ctx, String name, long defaultValue) {
        String raw = ctx.queryParam(name);
        if (raw == null || raw.isBlank()) return defaultValue;
        try {
            return Long.parseLong(raw.trim());
        } catch (NumberFormatException e) {
            throw ApiError.badRequest(name + " must be a whole number, got '" + raw + "'");
        }
    }
}
