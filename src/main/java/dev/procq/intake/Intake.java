package dev.procq.intake;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procq.config.DatabaseTimeouts;
import dev.procq.config.FailureBudget;
import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import dev.procq.config.Settings;
import dev.procq.config.WebhookDestinations;
import dev.procq.store.BatchDao;
import dev.procq.store.BatchRow;
import dev.procq.store.JobCopyWriter;
import dev.procq.store.JobNotifications;
import dev.procq.store.JobTypeDao;
import dev.procq.store.JobTypeRow;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Phase 1: turns a submission into one batch row and one PENDING job row per target, in
 * one transaction, streaming the targets into COPY as they are read. Any refused target
 * rolls the whole batch back: a bad request records nothing.
 */
public final class Intake {
    private static final int MAX_JSON_DEPTH = 16;
    private static final com.fasterxml.jackson.databind.ObjectReader META_READER =
            new com.fasterxml.jackson.databind.ObjectMapper().readerFor(Map.class);
    /**
     * Targets that arrive before "type" cannot be checked or streamed yet, so they are held in
     * memory; this bounds them (characters plus a per-target allowance for the String itself).
     */
    static final long MAX_BUFFERED_BEFORE_TYPE = 4L << 20;
    private static final int BUFFERED_TARGET_OVERHEAD = 32;
    /** Reads the small nested objects of a body (a halt budget) as trees, from the same strict parser. */
    private static final ObjectMapper TREES = new ObjectMapper();

    private final Jdbi jdbi;
    private final JobTypes types;
    private final TargetRules rules;
    private final long maxBatchSize;
    private final JsonFactory json;
    private final ScanRoots scanRoots;
    private final WebhookDestinations webhooks;
    private final Duration copyTimeout;
    /** COPYs opened by the request on this thread, so a failure can end them before rolling back. */
    private final ThreadLocal<List<JobCopyWriter>> openCopies = ThreadLocal.withInitial(ArrayList::new);

    /**
     * How long the COPY of one batch may run: it spans the client's whole upload, so the sessions'
     * statement timeout would cut off a large batch. One second per {@value #COPY_TARGETS_PER_SECOND}
     * targets of the largest batch allowed (PostgreSQL here takes in about 150,000 a second), and
     * never less than the statement timeout: 250 s for the default 5,000,000.
     */
    static Duration copyTimeout(long maxBatchSize, Duration statementTimeout) {
        Duration sized = Duration.ofSeconds(Math.max(1, (maxBatchSize + COPY_TARGETS_PER_SECOND - 1) / COPY_TARGETS_PER_SECOND));
        return sized.compareTo(statementTimeout) > 0 ? sized : statementTimeout;
    }

    static final long COPY_TARGETS_PER_SECOND = 20_000;

    public Intake(Jdbi jdbi, JobTypes types, int maxTargetLength, long maxBatchSize) {
        this(jdbi, types, maxTargetLength, maxBatchSize, ScanRoots.none());
    }

    public Intake(Jdbi jdbi, JobTypes types, int maxTargetLength, long maxBatchSize, ScanRoots scanRoots) {
        this(jdbi, types, maxTargetLength, maxBatchSize, scanRoots, DatabaseTimeouts.DEFAULT.statement());
    }

    /** @param statementTimeout the sessions' statement_timeout; a COPY gets at least that long */
    public Intake(Jdbi jdbi, JobTypes types, int maxTargetLength, long maxBatchSize, ScanRoots scanRoots,
                  Duration statementTimeout) {
        this(jdbi, types, maxTargetLength, maxBatchSize, scanRoots, statementTimeout, WebhookDestinations.NONE);
    }

    /**
     * The intake a process runs with: its settings' limits, scan roots and webhook destinations, so a
     * batch a schedule submits is held to what a client's would be.
     */
    public static Intake of(Jdbi jdbi, JobTypes types, Settings settings, Duration statementTimeout) {
        return new Intake(jdbi, types, settings.maxTargetLength(), settings.maxBatchSize(),
                new ScanRoots(settings.scanRoots()), statementTimeout, settings.webhooks().destinations());
    }

    /** @param webhooks the destinations a submission's {@code webhook} may name (PROCQ_WEBHOOK_ALLOWLIST) */
    public Intake(Jdbi jdbi, JobTypes types, int maxTargetLength, long maxBatchSize, ScanRoots scanRoots,
                  Duration statementTimeout, WebhookDestinations webhooks) {
        this.jdbi = jdbi;
        this.webhooks = webhooks;
        this.copyTimeout = copyTimeout(maxBatchSize, statementTimeout);
        this.scanRoots = scanRoots;
        this.types = types;
        this.rules = new TargetRules(maxTargetLength);
        this.maxBatchSize = maxBatchSize;
        this.json = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(MAX_JSON_DEPTH)
                        // a little over the longest target, so a huge string is refused before it is held
                        .maxStringLength(Math.max(maxTargetLength * 4 + 16, 1024))
                        .build())
                .enable(DuplicateKey.FEATURE)
                .build();
    }

    /**
     * A JSON body: {"type": "...", "priority": 0, "halt": {"failed": 100}, "targets": ["...", ...]}, or
     * "scan": {"root": "...", "glob": "..."} or "file": {"root": "...", "path": "..."} (one target per line)
     * instead of targets; "halt": {} for no failure budget at all.
     */
    public BatchReceipt submitJson(InputStream body, String idempotencyKey, String owner) {
        Optional<BatchReceipt> replay = replayOf(idempotencyKey, owner);
        if (replay.isPresent()) return replay.get();
        return inTransaction(handle -> readJson(handle, body, idempotencyKey, owner));
    }

    /**
     * A text body: one target per line (blank lines skipped); type and priority from the query string.
     * {@code owner} is the submitting token's id, recorded with the batch (null without tokens).
     */
    public BatchReceipt submitLines(InputStream body, BatchOptions options, String owner) {
        return submit(options, owner, sink -> readLines(body, sink, "line "));
    }

    /** Feeds one target per line (blank lines skipped) to the sink; positions read {@code where} and the line number. */
    private void readLines(InputStream in, TargetSink sink, String where) throws IOException, SQLException {
        LineReader lines = new LineReader(in, rules.maxLength());
        try {
            String line;
            while ((line = lines.next()) != null) {
                if (!line.isEmpty()) sink.add(line, null, where + lines.lineNumber());
            }
        } catch (CharacterCodingException e) {
            throw IntakeException.badRequest(where.equals("line ") ? "body is not valid UTF-8 near line " + (lines.lineNumber() + 1)
                    : where + (lines.lineNumber() + 1) + ": not valid UTF-8");
        } catch (LineReader.LineTooLongException e) {
            throw new IntakeException(413, where + e.lineNumber() + ": longer than " + rules.maxLength()
                    + " characters", Map.of("position", where + e.lineNumber()));
        }
    }

    /**
     * Checks a JSON body exactly as {@link #submitJson} records it, and records nothing: the
     * transaction is rolled back at the end. For a body stored to be submitted later (a schedule).
     */
    public BatchReceipt check(byte[] body, String owner) {
        try {
            inTransaction(handle -> {
                throw new DryRun(readJson(handle, new java.io.ByteArrayInputStream(body), null, owner));
            });
            throw new IllegalStateException("unreachable: a dry run always rolls back");
        } catch (DryRun done) {
            return done.receipt;
        }
    }

    /** Ends a dry run's transaction with a rollback, carrying what it would have recorded. */
    private static final class DryRun extends RuntimeException {
        private final transient BatchReceipt receipt;

        DryRun(BatchReceipt receipt) {
            super(null, null, false, false);
            this.receipt = receipt;
        }
    }

    /** Any source of targets with per-target metadata, such as a directory scan. */
    public BatchReceipt submit(BatchOptions options, String owner, TargetSource source) {
        Optional<BatchReceipt> replay = replayOf(options.idempotencyKey(), owner);
        if (replay.isPresent()) return replay.get();
        JobType type = requireType(options.type());
        return inTransaction(handle -> {
            BatchWriter writer = open(handle, type, options, owner);
            if (writer.replayed != null) return writer.replayed;
            source.forEach(writer::add);
            return writer.finish();
        });
    }

    private BatchReceipt readJson(Handle handle, InputStream body, String idempotencyKey, String owner)
            throws IOException, SQLException {
        try (JsonParser parser = json.createParser(new StrictUtf8InputStream(body))) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw IntakeException.badRequest("body must be a JSON object like {\"type\": \"...\", \"targets\": [\"...\"]}");
            }
            String typeName = null;
            Integer priority = null;
            FailureBudget halt = null;
            String webhook = null;
            boolean sawTargets = false;
            DirectoryScan scan = null;
            java.nio.file.Path file = null;
            BatchWriter writer = null;
            List<String> buffered = null;
            long bufferedCost = 0;
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken value = parser.nextToken();
                switch (field) {
                    case "type" -> {
                        if (value != JsonToken.VALUE_STRING) throw IntakeException.badRequest("type must be a string");
                        typeName = parser.getText();
                    }
                    case "priority" -> {
                        if (value != JsonToken.VALUE_NUMBER_INT) throw IntakeException.badRequest("priority must be a whole number");
                        priority = parser.getIntValue();
                        if (writer != null) writer.changePriority(priority);
                    }
                    case "halt" -> {
                        if (value != JsonToken.START_OBJECT) {
                            throw IntakeException.badRequest("halt must be an object like {\"failed\": 100}, "
                                    + "{\"failedPercent\": 20, \"after\": 50} or {\"inARow\": 10}; {} for none");
                        }
                        halt = budgetOf(TREES.readTree(parser));
                        if (writer != null) writer.changeHalt(halt);
                    }
                    case "targets" -> {
                        if (value != JsonToken.START_ARRAY) {
                            throw IntakeException.badRequest("targets must be an array of strings");
                        }
                        sawTargets = true;
                        if (typeName != null) {
                            writer = open(handle, requireType(typeName),
                                    new BatchOptions(typeName, priority == null ? 0 : priority, idempotencyKey, halt, webhook), owner);
                            if (writer.replayed != null) return writer.replayed;
                        } else {
                            buffered = new ArrayList<>();
                        }
                        int index = 0;
                        JsonToken element;
                        while ((element = parser.nextToken()) != JsonToken.END_ARRAY) {
                            if (element != JsonToken.VALUE_STRING) {
                                throw new IntakeException(400, "targets[" + index + "]: must be a string, got "
                                        + describe(element), Map.of("position", "targets[" + index + "]"));
                            }
                            String target = parser.getText();
                            if (writer != null) {
                                writer.add(target, "targets[" + index + "]");
                            } else {
                                if (buffered.size() >= maxBatchSize) throw tooMany();
                                bufferedCost += target.length() + BUFFERED_TARGET_OVERHEAD;
                                if (bufferedCost > MAX_BUFFERED_BEFORE_TYPE) throw tooMuchBeforeType();
                                buffered.add(target);
                            }
                            index++;
                        }
                    }
                    case "scan" -> scan = scanRoots.prepare(ScanRequest.read(parser));
                    case "file" -> file = scanRoots.prepareFile(FileRequest.read(parser));
                    case "webhook" -> {
                        if (value != JsonToken.VALUE_STRING) {
                            throw IntakeException.badRequest("webhook must be a string: a name from PROCQ_WEBHOOK_ALLOWLIST or a URL it allows");
                        }
                        webhook = webhookUrl(parser.getText(), "webhook");
                        if (writer != null) writer.changeWebhook(webhook);
                    }
                    default -> throw IntakeException.badRequest("unknown field '" + field
                            + "' (known: type, targets, scan, file, priority, halt, webhook)");
                }
            }
            if (parser.currentToken() != JsonToken.END_OBJECT || parser.nextToken() != null) {
                throw IntakeException.badRequest("body must hold exactly one JSON object");
            }
            if (typeName == null) throw IntakeException.badRequest("type is required");
            if ((sawTargets ? 1 : 0) + (scan != null ? 1 : 0) + (file != null ? 1 : 0) > 1) {
                throw IntakeException.badRequest("give one of targets, scan or file, not several");
            }
            if (file != null) {
                writer = open(handle, requireType(typeName), new BatchOptions(typeName, priority == null ? 0 : priority, idempotencyKey, halt, webhook), owner);
                if (writer.replayed != null) return writer.replayed;
                try (InputStream in = java.nio.file.Files.newInputStream(file)) {
                    readLines(in, writer::add, "file line ");
                }
                return writer.finish();
            }
            if (scan != null) {
                writer = open(handle, requireType(typeName), new BatchOptions(typeName, priority == null ? 0 : priority, idempotencyKey, halt, webhook), owner);
                if (writer.replayed != null) return writer.replayed;
                scan.forEach(writer::add);
                return writer.finish().withScan(scan.summary());
            }
            if (!sawTargets) throw IntakeException.badRequest("targets is required (an array of strings), or scan, or file");
            if (writer == null) {
                writer = open(handle, requireType(typeName), new BatchOptions(typeName, priority == null ? 0 : priority, idempotencyKey, halt, webhook), owner);
                if (writer.replayed != null) return writer.replayed;
                for (int i = 0; i < buffered.size(); i++) {
                    writer.add(buffered.get(i), "targets[" + i + "]");
                }
            }
            return writer.finish();
        } catch (StreamConstraintsException e) {
            throw exceeded(e);
        } catch (JsonProcessingException e) {
            Optional<DuplicateKey> duplicate = DuplicateKey.of(e);
            if (duplicate.isPresent()) throw duplicate.get().refusal();
            throw IntakeException.badRequest("malformed JSON at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ": " + e.getOriginalMessage());
        }
    }

    /** A failure budget from a submission, refused with the client's field name. */
    private static FailureBudget budgetOf(com.fasterxml.jackson.databind.JsonNode node) {
        try {
            return FailureBudget.of(node);
        } catch (IllegalArgumentException e) {
            throw new IntakeException(400, "halt." + e.getMessage(), Map.of("position", "halt"));
        }
    }

    /**
     * The URL a submission's {@code webhook} (a name from PROCQ_WEBHOOK_ALLOWLIST, or a URL it allows)
     * stands for; anything else is a 400 naming {@code position}, and the batch is not recorded.
     */
    public String webhookUrl(String given, String position) {
        return webhooks.resolve(given).orElseThrow(() -> new IntakeException(400, position + ": '" + given
                + "' is not an allowed webhook destination (allowed names: " + webhooks.names() + ")",
                Map.of("position", position)));
    }

    /** The text form of a failure budget ({@code failed=100,inARow=10} or {@code none}), as a query parameter. */
    public static FailureBudget budget(String text, String parameter) {
        try {
            return FailureBudget.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IntakeException(400, parameter + ": " + e.getMessage(), Map.of("position", parameter));
        }
    }

    /** A Jackson read limit, said in the client's terms rather than the library's. */
    private IntakeException exceeded(StreamConstraintsException e) {
        StreamReadConstraints limits = json.streamReadConstraints();
        String message = String.valueOf(e.getOriginalMessage());
        if (message.startsWith("Document nesting depth")) {
            return IntakeException.badRequest("JSON nested deeper than " + limits.getMaxNestingDepth() + " levels");
        }
        String what;
        if (message.startsWith("Number value length")) {
            what = "a JSON number longer than " + limits.getMaxNumberLength() + " digits";
        } else if (message.startsWith("Name length")) {
            what = "a JSON field name longer than " + limits.getMaxNameLength() + " bytes";
        } else {
            what = "a JSON string longer than " + limits.getMaxStringLength() + " characters (a target may have "
                    + rules.maxLength() + ")";
        }
        return new IntakeException(413, "request too large: " + what, Map.of());
    }

    private static String describe(JsonToken token) {
        return switch (token) {
            case START_ARRAY -> "an array";
            case START_OBJECT -> "an object";
            case VALUE_NULL -> "null";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            default -> "a number";
        };
    }

    private JobType requireType(String name) {
        return types.find(name).orElseThrow(() -> new IntakeException(400,
                "unknown type '" + name + "' (known: " + String.join(", ", types.names()) + ")", Map.of("type", name)));
    }

    private IntakeException tooMany() {
        return new IntakeException(413, "a batch may hold at most " + maxBatchSize
                + " targets (PROCQ_MAX_BATCH_SIZE)", Map.of("limit", maxBatchSize));
    }

    private static IntakeException tooMuchBeforeType() {
        return new IntakeException(413, "targets came before \"type\", so they must be held in memory, and they "
                + "exceed " + (MAX_BUFFERED_BEFORE_TYPE >> 20) + " MiB; put \"type\" first to stream a batch of any size",
                Map.of("limit", MAX_BUFFERED_BEFORE_TYPE));
    }

    private Optional<BatchReceipt> replayOf(String idempotencyKey, String owner) {
        if (idempotencyKey == null) return Optional.empty();
        return jdbi.withExtension(BatchDao.class, dao -> dao.findByIdempotencyKey(idempotencyKey, owner)).map(Intake::replay);
    }

    private static BatchReceipt replay(BatchRow row) {
        return new BatchReceipt(row.id(), row.type(), row.total(), true);
    }

    private BatchWriter open(Handle handle, JobType type, BatchOptions options, String owner) throws SQLException {
        if (!openCopies.get().isEmpty()) {
            // PgJDBC runs nothing else on a connection while its COPY is open: the next statement
            // would wait, on this thread, for a COPY only this thread can end, and never return.
            throw new IllegalStateException("a batch is already being copied on this connection");
        }
        BatchDao batches = handle.attach(BatchDao.class);
        Optional<Long> id = batches.insertUnlessKeyUsed(type.name(), options.priority(), options.idempotencyKey(), owner);
        if (id.isEmpty()) {
            // Another request with the same key committed while this one started: answer with that batch.
            BatchRow existing = batches.findByIdempotencyKey(options.idempotencyKey(), owner).orElseThrow();
            return new BatchWriter(replay(existing));
        }
        BatchWriter writer = new BatchWriter(handle, id.get(), type, options.priority());
        writer.changeHalt(options.halt());
        writer.changeWebhook(options.webhook());
        return writer;
    }

    private <R> R inTransaction(TransactionBody<R> body) {
        try {
            return jdbi.inTransaction(handle -> {
                try {
                    return body.run(handle);
                } catch (Throwable failure) {
                    // A COPY left open would block the rollback; end it first.
                    for (JobCopyWriter copy : openCopies.get()) copy.close();
                    throw failure;
                } finally {
                    openCopies.get().clear();
                }
            });
        } catch (StrictUtf8InputStream.MalformedUtf8 e) {
            throw IntakeException.badRequest(e.getMessage());
        } catch (IOException | UncheckedIOException e) {
            // the client stopped sending or the body broke off: nothing was committed
            throw IntakeException.badRequest("could not read the request body: " + e.getMessage());
        } catch (SQLException e) {
            throw new org.jdbi.v3.core.ConnectionException(e);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @FunctionalInterface
    private interface TransactionBody<R> {
        R run(Handle handle) throws IOException, SQLException;
    }

    /** Targets with optional metadata, fed to a sink one at a time. */
    @FunctionalInterface
    public interface TargetSource {
        void forEach(TargetSink sink) throws IOException, SQLException;
    }

    @FunctionalInterface
    public interface TargetSink {
        void add(String target, String metaJson, String position) throws SQLException;
    }

    /** Checks and streams the targets of one batch. */
    private final class BatchWriter {
        private final BatchReceipt replayed;
        private final Handle handle;
        private final long batchId;
        private final JobType type;
        private final JobCopyWriter copy;
        private long count;

        BatchWriter(BatchReceipt replayed) {
            this.replayed = replayed;
            this.handle = null;
            this.batchId = replayed.id();
            this.type = null;
            this.copy = null;
        }

        BatchWriter(Handle handle, long batchId, JobType type, int priority) throws SQLException {
            this.replayed = null;
            this.handle = handle;
            this.batchId = batchId;
            this.type = type;
            this.copy = new JobCopyWriter(handle, batchId, type.name(), priority, type.maxAttempts(), copyTimeout);
            openCopies.get().add(copy);
        }

        void add(String target, String position) throws SQLException {
            add(target, null, position);
        }

        void add(String target, String metaJson, String position) throws SQLException {
            if (count >= maxBatchSize) throw tooMany();
            rules.check(type, target, position);
            copy.add(target, metaJson, type.key() == null ? null : type.key().of(target, metaOf(metaJson)));
            count++;
        }

        /** The meta's top-level values, for a key taken from {meta.NAME}; only parsed when the type has such a key. */
        private Map<String, ?> metaOf(String metaJson) {
            if (metaJson == null || type.key().metaName() == null) return null;
            try {
                return META_READER.readValue(metaJson);
            } catch (JsonProcessingException e) {
                throw new UncheckedIOException(e);
            }
        }

        void changePriority(int priority) {
            pendingPriority = priority;
        }

        private Integer pendingPriority;
        private FailureBudget halt;

        void changeHalt(FailureBudget budget) {
            halt = budget;
        }

        private String webhook;

        void changeWebhook(String url) {
            webhook = url;
        }

        BatchReceipt finish() throws SQLException {
            if (count == 0) throw IntakeException.noTargets();
            copy.finish();
            BatchDao batches = handle.attach(BatchDao.class);
            batches.setTotal(batchId, count);
            if (pendingPriority != null) {
                BatchOptions.checkPriority(pendingPriority);
                batches.setPriority(batchId, pendingPriority);
            }
            // The type's default is procq.job_type's as it stands now (the file's until a worker or the API seeds the row).
            FailureBudget budget = halt != null ? halt : handle.attach(JobTypeDao.class).find(type.name())
                    .flatMap(JobTypeRow::halt).orElse(type.halt());
            if (!budget.isNone()) {
                batches.setBudget(batchId, budget.failed(), budget.failedPercent(), budget.after(), budget.inARow());
            }
            if (webhook != null) batches.setWebhook(batchId, webhook);
            JobNotifications.notifyJobsAvailable(handle, type.name());
            return new BatchReceipt(batchId, type.name(), count, false);
        }
    }
}
