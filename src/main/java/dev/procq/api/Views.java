package dev.procq.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.procq.intake.ScanSummary;
import dev.procq.store.AttemptRow;
import dev.procq.store.BatchRow;
import dev.procq.store.JobRow;
import dev.procq.store.ThroughputBucket;
import dev.procq.store.WorkerRow;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

/** The JSON shapes of the API, kept apart from the row records so the wire format changes only on purpose. */
final class Views {
    private Views() {
    }

    record Counts(@JsonProperty("PENDING") long pending, @JsonProperty("RUNNING") long running,
                  @JsonProperty("OK") long ok, @JsonProperty("FAILED") long failed,
                  @JsonProperty("CANCELLED") long cancelled) {
    }

    /**
     * {@code haltReason} and {@code haltedAt} are null unless the budget ran out; {@code halt} is {} for no budget;
     * {@code scheduleId} and {@code scheduleTickAt} are null unless a schedule's tick submitted it.
     */
    record Batch(long id, String type, String state, int priority, long total, Counts counts,
                 OffsetDateTime createdAt, OffsetDateTime startedAt, OffsetDateTime finishedAt,
                 @JsonInclude(JsonInclude.Include.ALWAYS) String haltReason,
                 @JsonInclude(JsonInclude.Include.ALWAYS) OffsetDateTime haltedAt, boolean paused, Budget halt,
                 @JsonInclude(JsonInclude.Include.ALWAYS) String webhook,
                 @JsonInclude(JsonInclude.Include.ALWAYS) Long scheduleId,
                 @JsonInclude(JsonInclude.Include.ALWAYS) OffsetDateTime scheduleTickAt) {
        static Batch of(BatchRow row) {
            return new Batch(row.id(), row.type(), row.state(), row.priority(), row.total(),
                    new Counts(row.pending(), row.running(), row.ok(), row.failed(), row.cancelled()),
                    row.createdAt(), row.startedAt(), row.finishedAt(), row.haltReason(), row.haltedAt(),
                    row.paused(), new Budget(row.haltFailed(), row.haltFailedPercent(), row.haltAfter(), row.haltInARow()),
                    row.webhookUrl(), row.scheduleId(), row.scheduleTickAt());
        }
    }

    /**
     * A schedule: {@code batch} (the stored body) only when one schedule is shown, {@code source} a line
     * saying what it submits; {@code lastBatches} its latest batches, newest tick first.
     */
    record Schedule(long id, String name, String cron, String timeZone, String type, String source,
                    @JsonInclude(JsonInclude.Include.NON_NULL) Object batch, String overlap, String catchUp,
                    boolean paused, @JsonInclude(JsonInclude.Include.ALWAYS) OffsetDateTime nextRunAt,
                    @JsonInclude(JsonInclude.Include.ALWAYS) OffsetDateTime queuedTickAt,
                    @JsonInclude(JsonInclude.Include.ALWAYS) String lastError,
                    OffsetDateTime createdAt, OffsetDateTime updatedAt, List<ScheduledBatch> lastBatches) {
        static Schedule of(dev.procq.schedule.Schedules.Shown shown, boolean withBody) {
            dev.procq.store.ScheduleRow row = shown.row();
            com.fasterxml.jackson.databind.JsonNode body;
            try {
                body = ApiServer.JSON.readTree(row.body());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException("procq.schedule.body of " + row.id() + " is not JSON", e);
            }
            return new Schedule(row.id(), row.name(), row.cron(), row.timeZone(), row.type(), source(body),
                    withBody ? body : null, row.overlap(), row.catchUp(), row.paused(), row.nextRunAt(),
                    row.queuedTickAt(), row.lastError(), row.createdAt(), row.updatedAt(),
                    shown.recent().stream().map(ScheduledBatch::of).toList());
        }

        /** "3 targets", "scan photos:**&#47;*.jpg", "file lists:endpoints.txt". */
        private static String source(com.fasterxml.jackson.databind.JsonNode body) {
            if (body.has("scan")) return "scan " + body.path("scan").path("root").asText() + ":" + body.path("scan").path("glob").asText();
            if (body.has("file")) return "file " + body.path("file").path("root").asText() + ":" + body.path("file").path("path").asText();
            int targets = body.path("targets").size();
            return targets + (targets == 1 ? " target" : " targets");
        }
    }

    /** One of a schedule's batches, as its schedule lists it. */
    record ScheduledBatch(long id, OffsetDateTime tickAt, String state, long total, long ok, long failed,
                          OffsetDateTime createdAt, @JsonInclude(JsonInclude.Include.ALWAYS) OffsetDateTime finishedAt) {
        static ScheduledBatch of(dev.procq.store.ScheduleBatch batch) {
            return new ScheduledBatch(batch.id(), batch.tickAt(), batch.state(), batch.total(), batch.ok(), batch.failed(),
                    batch.createdAt(), batch.finishedAt());
        }
    }

    /** GET /api/v1/batches/{id}/webhooks: where the batch's end is announced, and every delivery so far. */
    record WebhookDeliveries(long batchId, @JsonInclude(JsonInclude.Include.ALWAYS) String webhook,
                             List<WebhookDelivery> deliveries) {
    }

    /** One outbox row: {@code state} PENDING, DELIVERED or GAVE_UP, with each try. */
    record WebhookDelivery(long id, String event, String url, String state, int attemptCount, OffsetDateTime createdAt,
                           @JsonInclude(JsonInclude.Include.ALWAYS) OffsetDateTime nextAttemptAt,
                           @JsonInclude(JsonInclude.Include.ALWAYS) OffsetDateTime finishedAt,
                           @JsonInclude(JsonInclude.Include.ALWAYS) String lastError, List<WebhookAttempt> attempts) {
        static WebhookDelivery of(dev.procq.store.WebhookDeliveryRow row, List<dev.procq.store.WebhookAttemptRow> attempts) {
            return new WebhookDelivery(row.id(), row.event(), row.url(), row.state(), row.attempts(), row.createdAt(),
                    row.state().equals("PENDING") ? row.nextAttemptAt() : null, row.finishedAt(), row.lastError(),
                    attempts.stream().map(a -> new WebhookAttempt(a.attempt(), a.startedAt(), a.durationMs(),
                            a.httpStatus(), a.error(), a.sender())).toList());
        }
    }

    /** One try: {@code httpStatus} is null when no answer came, and {@code error} says why. */
    record WebhookAttempt(int attempt, OffsetDateTime startedAt, long durationMs,
                          @JsonInclude(JsonInclude.Include.ALWAYS) Integer httpStatus,
                          @JsonInclude(JsonInclude.Include.ALWAYS) String error, String sender) {
    }

    /** A failure budget as submitted: only the rules it has. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Budget(Long failed, Double failedPercent, Long after, Long inARow) {
        static Budget of(dev.procq.config.FailureBudget budget) {
            return new Budget(budget.failed(), budget.failedPercent(), budget.after(), budget.inARow());
        }
    }

    record Page<T>(List<T> items, @JsonInclude(JsonInclude.Include.ALWAYS) String next) {
    }

    /**
     * One attempt; the costs are JSON null, not 0, when the backend that ran it could not tell
     * ({@code memoryPeakBytes}: without a cgroup with the memory controller).
     */
    record Attempt(int attempt, Long workerId, OffsetDateTime startedAt, OffsetDateTime finishedAt, String outcome,
                   Integer exitCode, Integer signal, long durationMs, String error, String outputTail,
                   Long cpuUserMs, Long cpuSystemMs, Long maxRssKb, String decidedBy, Long memoryPeakBytes) {
        static Attempt of(AttemptRow row) {
            return new Attempt(row.attempt(), row.workerId(), row.startedAt(), row.finishedAt(), row.outcome(),
                    row.exitCode(), row.signal(), row.durationMs(), row.error(), row.outputTail(),
                    row.cpuUserMs(), row.cpuSystemMs(), row.maxRssKb(), row.decidedBy(),
                    row.memoryPeakBytes());
        }
    }

    record Job(long id, long batchId, String type, String target, Object meta, String state, int attemptCount,
               int maxAttempts, Long workerId, Integer exitCode, Integer signal, String error,
               OffsetDateTime createdAt, OffsetDateTime runAt, OffsetDateTime startedAt, OffsetDateTime finishedAt,
               @JsonInclude(JsonInclude.Include.NON_NULL) List<Attempt> attempts) {
        static Job of(JobRow row, Object meta, List<Attempt> attempts) {
            return new Job(row.id(), row.batchId(), row.type(), row.target(), meta, row.state(), row.attempts(),
                    row.maxAttempts(), row.workerId(), row.exitCode(), row.signal(), row.error(), row.createdAt(),
                    row.runAt(), row.startedAt(), row.finishedAt(), attempts);
        }
    }

    /**
     * Jobs ended OK and FAILED per minute over the last hour, oldest minute first; {@code to} is the
     * end of the minute in progress (the last bucket), so that one is still filling.
     * {@code perSecond} is a bucket's OK and FAILED over its {@code bucketSeconds}.
     */
    record Throughput(int bucketSeconds, OffsetDateTime from, OffsetDateTime to, long ok, long failed,
                      List<Bucket> buckets) {
        /** The width of JobDao.THROUGHPUT_HEAD's buckets ('1 minute'). */
        static final int BUCKET_SECONDS = 60;

        static Throughput of(List<ThroughputBucket> rows) {
            List<Bucket> buckets = rows.stream().map(row -> new Bucket(row.start(), row.ok(), row.failed(),
                    Math.round((row.ok() + row.failed()) * 1000.0 / BUCKET_SECONDS) / 1000.0)).toList();
            return new Throughput(BUCKET_SECONDS, rows.get(0).start(),
                    rows.get(rows.size() - 1).start().plusSeconds(BUCKET_SECONDS),
                    rows.stream().mapToLong(ThroughputBucket::ok).sum(),
                    rows.stream().mapToLong(ThroughputBucket::failed).sum(), buckets);
        }
    }

    record Bucket(OffsetDateTime start, long ok, long failed, double perSecond) {
    }

    record Receipt(long id, String type, long total, @JsonInclude(JsonInclude.Include.NON_NULL) ScanSummary scan) {
    }

    record Error(String error, Object detail) {
    }

    /**
     * A type's live settings (procq.job_type) and its use now: {@code running} across all
     * workers, {@code runningByWorker} by worker id (string keys: JSON object names), {@code keys}
     * its busiest keys; its throughput as {@code finishedLastMinute}, the attempts that ended in the
     * last minute (retries count each time), {@code okLastMinute} of them OK; and what this API's
     * job-types file says ({@code file} is null for a type only the table knows).
     *
     * @param exitCodes       the rules workers apply now: procq.job_type's when it sets valid ones, else the file's
     * @param exitCodesSource "file" or "procq.job_type"; with the parse error when the table's cannot be used
     * @param halt            the failure budget a new batch of the type gets unless its submission gives one ({} for none)
     */
    record JobType(String name, int concurrency, boolean paused, Map<String, Object> exitCodes,
                   String exitCodesSource, Integer globalConcurrency, Integer keyConcurrency,
                   Double keyRate, Double rate, Budget halt, long running, Map<String, Long> runningByWorker, List<Key> keys,
                   long finishedLastMinute, long okLastMinute, FileSettings file) {
    }

    /**
     * A worker run: {@code heartbeatAgeSeconds} by the database's clock; {@code stoppedAt} null while it
     * runs or after a crash (then its heartbeat ages); {@code running} the jobs it holds now.
     */
    record Worker(long id, String host, long pid, String version, Integer metricsPort, int concurrency,
                  List<String> types, OffsetDateTime startedAt, OffsetDateTime heartbeatAt,
                  OffsetDateTime stoppedAt, String hostHold,
                  double heartbeatAgeSeconds, long running) {
        static Worker of(WorkerRow row) {
            return new Worker(row.id(), row.host(), row.pid(), row.version(), row.metricsPort(), row.concurrency(),
                    row.types(), row.startedAt(), row.heartbeatAt(), row.stoppedAt(), row.hostHold(), row.heartbeatAgeSeconds(),
                    row.running());
        }
    }

    /** One of a type's busiest keys: jobs running now and started in the last minute (procq.job_key_usage). */
    record Key(String key, long running, long startedLastMinute) {
    }

    /** {@code halt}: the failure budget a batch of the type gets unless its submission gives one ({} for none). */
    record FileSettings(int concurrency, Integer globalConcurrency, String key, Integer keyConcurrency, Double keyRate,
                        Double rate, String timeout, int maxAttempts, String backoff,
                        String targetPattern, boolean allowDashTargets, Map<String, Object> exitCodes, Budget halt) {
        static FileSettings of(dev.procq.config.JobType type) {
            return new FileSettings(type.concurrency(), type.globalConcurrency(),
                    type.key() == null ? null : type.key().describe(), type.keyConcurrency(), type.keyRate(), type.rate(),
                    type.timeout() == null ? null : dev.procq.config.Durations.format(type.timeout()),
                    type.maxAttempts(), dev.procq.config.Durations.format(type.backoff()),
                    type.targetPattern() == null ? null : type.targetPattern().pattern(), type.allowDashTargets(),
                    type.exitCodes().asMap(), Budget.of(type.halt()));
        }
    }
}
