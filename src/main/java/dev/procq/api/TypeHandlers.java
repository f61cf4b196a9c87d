package dev.procq.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.config.ConfigException;
import dev.procq.config.ExitCodeRules;
import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import dev.procq.intake.DuplicateKey;
import dev.procq.store.JobTypeDao;
import dev.procq.store.JobTypeRow;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.jdbi.v3.core.Jdbi;

/**
 * /api/v1/types: each type's live concurrency, pause and exit-code rules (procq.job_type),
 * changed with PATCH. Workers re-read the table every few seconds, so a change needs no restart.
 */
final class TypeHandlers {
    /** The same ceiling as PROCQ_WORKER_CONCURRENCY. */
    static final int MAX_CONCURRENCY = 100_000;

    private final Jdbi jdbi;
    private final JobTypes types;

    TypeHandlers(Jdbi jdbi, JobTypes types) {
        this.jdbi = jdbi;
        this.types = types;
    }

    void list(Context ctx) {
        Map<String, Views.JobType> byName = new TreeMap<>();
        List<JobTypeRow> rows = jdbi.withExtension(JobTypeDao.class, JobTypeDao::list);
        for (JobTypeRow row : rows) byName.put(row.name(), view(row));
        // A type in the file that no worker has seeded yet runs with the file's values.
        for (JobType type : types.all()) {
            byName.putIfAbsent(type.name(), new Views.JobType(type.name(), type.concurrency(), false,
                    type.exitCodes().asMap(), FROM_FILE, Views.FileSettings.of(type)));
        }
        ctx.json(new ArrayList<>(byName.values()));
    }

    void update(Context ctx) {
        String name = ctx.pathParam("name");
        Change change = Change.parse(ctx.body());
        Optional<JobType> fromFile = types.find(name);
        JobTypeRow row = jdbi.inTransaction(handle -> {
            JobTypeDao dao = handle.attach(JobTypeDao.class);
            fromFile.ifPresent(type -> dao.insertIfMissing(type.name(), type.concurrency()));
            if (change.exitCodesGiven()) dao.setExitCodes(name, change.exitCodes());
            return dao.update(name, change.concurrency(), change.paused());
        }).orElseThrow(() -> ApiError.notFound("job type '" + name + "'"));
        ctx.json(view(row));
    }

    private static final String FROM_FILE = "file";
    private static final String FROM_TABLE = "procq.job_type";

    private Views.JobType view(JobTypeRow row) {
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
        return new Views.JobType(row.name(), row.concurrency(), row.paused(),
                rules == null ? null : rules.asMap(), source, fromFile.map(Views.FileSettings::of).orElse(null));
    }

    /**
     * A PATCH body: {"concurrency": N}, {"paused": true|false} and/or {"exitCodes": {...}} (the
     * job-types file's shape; null goes back to the file's rules), nothing else.
     *
     * @param exitCodes the new rules as JSON text, or null for the file's; only when {@code exitCodesGiven}
     */
    record Change(Integer concurrency, Boolean paused, boolean exitCodesGiven, String exitCodes) {
        static Change parse(String body) {
            JsonNode root;
            try {
                root = ApiServer.JSON.readTree(body);
            } catch (JsonProcessingException e) {
                DuplicateKey duplicate = DuplicateKey.of(e).orElse(null);
                if (duplicate != null) throw new ApiError(400, duplicate.message(), duplicate.detail());
                throw ApiError.badRequest("malformed JSON: " + e.getOriginalMessage());
            }
            if (root == null || !root.isObject()) {
                throw ApiError.badRequest("body must be a JSON object like {\"concurrency\": 8} or {\"paused\": true}");
            }
            Integer concurrency = null;
            Boolean paused = null;
            boolean exitCodesGiven = false;
            String exitCodes = null;
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
                    default -> throw ApiError.badRequest("unknown field '" + field.getKey()
                            + "' (known: concurrency, paused, exitCodes)");
                }
            }
            if (concurrency == null && paused == null && !exitCodesGiven) {
                throw ApiError.badRequest("nothing to change: give concurrency, paused, exitCodes or several");
            }
            return new Change(concurrency, paused, exitCodesGiven, exitCodes);
        }
    }
}
