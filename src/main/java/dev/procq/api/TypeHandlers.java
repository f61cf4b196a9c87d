package dev.procq.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.config.ConfigException;
import dev.procq.config.ExitCodeRules;
import dev.procq.config.FailureBudget;
import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import dev.procq.store.JobTypeDao;
import dev.procq.store.JobTypeRow;
import dev.procq.store.TypeRunning;
import dev.procq.store.TypeThroughput;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.jdbi.v3.core.Jdbi;

/**
 * /api/v1/types: each type's live concurrency, pause, exit-code rules, cluster-wide limits and
 * default failure budget (procq.job_type), changed with PATCH, and how many of its jobs run now on
 * each worker. Workers re-read the table every few seconds (the claim statement reads the
 * cluster-wide limits itself, intake the budget), so a change needs no restart.
 */
final class TypeHandlers {
    /** The same ceiling as PROCQ_WORKER_CONCURRENCY. */
    static final int MAX_CONCURRENCY = 100_000;
    /** The same ceiling as globalConcurrency in the job-types file. */
    static final int MAX_GLOBAL_CONCURRENCY = 1_000_000;
    /** The same bounds as rate and keyRate in the job-types file (starts per second). */
    static final double MIN_RATE = 1.0 / 86_400;
    static final double MAX_RATE = 1_000_000;
    /** How many of a keyed type's busiest keys GET /api/v1/types shows. */
    static final int BUSIEST_KEYS = 20;

    private final Jdbi jdbi;
    private final JobTypes types;

    TypeHandlers(Jdbi jdbi, JobTypes types) {
        this.jdbi = jdbi;
        this.types = types;
    }

    void list(Context ctx) {
        Map<String, Views.JobType> byName = new TreeMap<>();
        Usage usage = jdbi.withExtension(JobTypeDao.class, Usage::read);
        List<JobTypeRow> rows = jdbi.withExtension(JobTypeDao.class, JobTypeDao::list);
        for (JobTypeRow row : rows) byName.put(row.name(), view(row, usage));
        // A type in the file that no worker has seeded yet runs with the file's values.
        for (JobType type : types.all()) {
            if (byName.containsKey(type.name())) continue;
            FailureBudget halt = type.halt();
            byName.put(type.name(), view(new JobTypeRow(type.name(), type.concurrency(), false, null,
                    type.globalConcurrency(), type.keyConcurrency(), type.keyRate(), type.rate(),
                    halt.failed(), halt.failedPercent(), halt.after(), halt.inARow(), true), usage));
        }
        ctx.json(new ArrayList<>(byName.values()));
    }

    void update(Context ctx) {
        String name = ctx.pathParam("name");
        Change change = Change.parse(ctx.body());
        Optional<JobType> fromFile = types.find(name);
        JobTypeRow row = jdbi.inTransaction(handle -> {
            JobTypeDao dao = handle.attach(JobTypeDao.class);
            fromFile.ifPresent(dao::insertIfMissing);
            if (change.exitCodesGiven()) dao.setExitCodes(name, change.exitCodes());
            if (change.halt() != null) dao.setHalt(name, change.halt());
            Map<String, JsonNode> limits = change.limits();
            return dao.update(name, change.concurrency(), change.paused(),
                    limits.containsKey("globalConcurrency"), intOrNull(limits.get("globalConcurrency")),
                    limits.containsKey("keyConcurrency"), intOrNull(limits.get("keyConcurrency")),
                    limits.containsKey("keyRate"), doubleOrNull(limits.get("keyRate")),
                    limits.containsKey("rate"), doubleOrNull(limits.get("rate")));
        }).orElseThrow(() -> ApiError.notFound("job type '" + name + "'"));
        ctx.json(view(row, jdbi.withExtension(JobTypeDao.class, Usage::read)));
    }

    /** What runs now (by type, then worker id) and what ended in the last minute (by type). */
    private record Usage(Map<String, Map<String, Long>> runningByWorker, Map<String, TypeThroughput> lastMinute) {
        static Usage read(JobTypeDao dao) {
            Map<String, Map<String, Long>> running = new HashMap<>();
            for (TypeRunning usage : dao.runningByTypeAndWorker()) {
                running.computeIfAbsent(usage.type(), type -> new TreeMap<>())
                        .put(String.valueOf(usage.workerId()), usage.running());
            }
            Map<String, TypeThroughput> lastMinute = new HashMap<>();
            for (TypeThroughput ended : dao.finishedLastMinuteByType()) lastMinute.put(ended.type(), ended);
            return new Usage(running, lastMinute);
        }

        Map<String, Long> running(String type) {
            return runningByWorker.getOrDefault(type, Map.of());
        }

        TypeThroughput lastMinute(String type) {
            return lastMinute.getOrDefault(type, new TypeThroughput(type, 0, 0));
        }
    }

    private static final String FROM_FILE = "file";
    private static final String FROM_TABLE = "procq.job_type";

    private static Integer intOrNull(JsonNode value) {
        return value == null || value.isNull() ? null : value.asInt();
    }

    private static Double doubleOrNull(JsonNode value) {
        return value == null || value.isNull() ? null : value.asDouble();
    }

    private Views.JobType view(JobTypeRow row, Usage usage) {
        Map<String, Long> runningByWorker = usage.running(row.name());
        TypeThroughput lastMinute = usage.lastMinute(row.name());
        Optional<JobType> fromFile = types.find(row.name());
        ExitCodeRules rules = fromFile.map(JobType::exitCodes).orElse(null);
        String source = FROM_FILE;
        if (row.exitCodes() != null) {
            // The same choice the workers make: a row they cannot parse leaves the file's rules on.
            try {
                rules = ExitCodeRules.parseJson(row.exitCodes(), FROM_TABLE + ".exit_codes");
                source = FROM_TABLE;
            } catch (ConfigException e) {
                source = FROM_FILE + " (" + e.getMessage() + ")";
            }
        }
        long running = runningByWorker.values().stream().mapToLong(Long::longValue).sum();
        List<Views.Key> keys = List.of();
        if (fromFile.isPresent() && fromFile.get().key() != null) {
            keys = jdbi.withExtension(JobTypeDao.class, dao -> dao.busiestKeys(row.name(), BUSIEST_KEYS)).stream()
                    .map(key -> new Views.Key(key.key(), key.running(), key.startedLastMinute())).toList();
        }
        // A row from before the budget was kept in the table: intake gives new batches the file's.
        FailureBudget halt = row.halt().orElseGet(() -> fromFile.map(JobType::halt).orElse(FailureBudget.NONE));
        return new Views.JobType(row.name(), row.concurrency(), row.paused(),
                rules == null ? null : rules.asMap(), source, row.globalConcurrency(),
                row.keyConcurrency(), row.keyRate(), row.rate(), Views.Budget.of(halt), running, runningByWorker, keys,
                lastMinute.finished(), lastMinute.ok(), fromFile.map(Views.FileSettings::of).orElse(null));
    }

    /**
     * A PATCH body: {"concurrency": N}, {"paused": true|false}, {"exitCodes": {...}} (the
     * job-types file's shape; null goes back to the file's rules) and/or the cluster-wide limits
     * {"globalConcurrency": N, "keyConcurrency": N, "keyRate": R, "rate": R} (null: no limit),
     * and/or the default failure budget of new batches {"halt": {"failed": 100}} ({} or null: none),
     * nothing else.
     *
     * @param exitCodes the new rules as JSON text, or null for the file's; only when {@code exitCodesGiven}
     * @param halt      the new default failure budget; null: unchanged
     */
    record Change(Integer concurrency, Boolean paused, boolean exitCodesGiven, String exitCodes,
                  Map<String, JsonNode> limits, FailureBudget halt) {
        static Change parse(String body) {
            JsonNode root = ApiServer.readObject(body,
                    "body must be a JSON object like {\"concurrency\": 8} or {\"paused\": true}");
            Integer concurrency = null;
            Boolean paused = null;
            boolean exitCodesGiven = false;
            String exitCodes = null;
            FailureBudget halt = null;
            Map<String, JsonNode> limits = new TreeMap<>();
            Iterator<Map.Entry<String, JsonNode>> fields = root.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> field = fields.next();
                JsonNode value = field.getValue();
                switch (field.getKey()) {
                    case "concurrency" -> {
                        if (!value.isIntegralNumber() || !value.canConvertToInt()
                                || value.asInt() < 1 || value.asInt() > MAX_CONCURRENCY) {
                            throw ApiError.badRequest("concurrency must be a whole number from 1 to " + MAX_CONCURRENCY
                                    + ", got " + value);
                        }
                        concurrency = value.asInt();
                    }
                    case "paused" -> {
                        if (!value.isBoolean()) throw ApiError.badRequest("paused must be true or false, got " + value);
                        paused = value.asBoolean();
                    }
                    case "exitCodes" -> {
                        exitCodesGiven = true;
                        if (!value.isNull()) {
                            try {
                                exitCodes = ApiServer.JSON.writeValueAsString(
                                        ExitCodeRules.parse(value, "exitCodes").asMap());
                            } catch (ConfigException e) {
                                throw ApiError.badRequest(e.getMessage());
                            } catch (JsonProcessingException e) {
                                throw new IllegalStateException(e);
                            }
                        }
                    }
                    case "globalConcurrency", "keyConcurrency" -> {
                        if (!value.isNull() && (!value.isIntegralNumber() || !value.canConvertToInt()
                                || value.asInt() < 1 || value.asInt() > MAX_GLOBAL_CONCURRENCY)) {
                            throw ApiError.badRequest(field.getKey() + " must be a whole number from 1 to "
                                    + MAX_GLOBAL_CONCURRENCY + ", or null for no limit, got " + value);
                        }
                        limits.put(field.getKey(), value);
                    }
                    case "keyRate", "rate" -> {
                        if (!value.isNull() && (!value.isNumber()
                                || !(value.asDouble() >= MIN_RATE && value.asDouble() <= MAX_RATE))) {
                            throw ApiError.badRequest(field.getKey() + " must be starts per second from " + MIN_RATE
                                    + " to " + (long) MAX_RATE + ", or null for no limit, got " + value);
                        }
                        limits.put(field.getKey(), value);
                    }
                    case "halt" -> halt = value.isNull() ? FailureBudget.NONE : BatchHandlers.budgetOf(value);
                    default -> throw ApiError.badRequest("unknown field '" + field.getKey()
                            + "' (known: concurrency, paused, exitCodes, globalConcurrency, keyConcurrency, keyRate, rate,"
                            + " halt)");
                }
            }
            if (concurrency == null && paused == null && !exitCodesGiven && limits.isEmpty() && halt == null) {
                throw ApiError.badRequest("nothing to change: give concurrency, paused, exitCodes, globalConcurrency,"
                        + " keyConcurrency, keyRate, rate, halt or several");
            }
            return new Change(concurrency, paused, exitCodesGiven, exitCodes, limits, halt);
        }
    }
}
