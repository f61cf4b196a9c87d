package dev.procq.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.schedule.CatchUpPolicy;
import dev.procq.schedule.OverlapPolicy;
import dev.procq.schedule.ScheduleDefinition;
import dev.procq.schedule.Schedules;
import dev.procq.store.ScheduleRow;
import io.javalin.http.Context;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * /api/v1/schedules: recurring batches. A schedule's {@code batch} is the body of a
 * POST /api/v1/batches, checked by intake when it is given and submitted at every tick by the
 * scheduler of some api, worker or dev process. A submit token sees and changes only its own
 * schedules, whose batches it owns; a schedule is named in the path by its id or its name.
 */
final class ScheduleHandlers {
    private static final Set<String> FIELDS = Set.of("name", "cron", "timeZone", "batch", "overlap", "catchUp", "paused");
    private static final String KNOWN = "name, cron, timeZone, batch, overlap, catchUp, paused";

    private final Schedules schedules;

    ScheduleHandlers(Schedules schedules) {
        this.schedules = schedules;
    }

    void create(Context ctx) {
        JsonNode root = ApiServer.readObject(ctx.body(), "body must be a JSON object like {\"name\": \"health\", "
                + "\"cron\": \"0 */5 * * * *\", \"batch\": {\"type\": \"healthcheck\", \"targets\": [\"...\"]}}");
        checkFields(root);
        for (String required : new String[] {"name", "cron", "batch"}) {
            if (!root.hasNonNull(required)) throw ApiError.badRequest(required + " is required");
        }
        ScheduleDefinition definition = new ScheduleDefinition(text(root, "name"), text(root, "cron"),
                root.has("timeZone") ? text(root, "timeZone") : ScheduleDefinition.DEFAULT_TIME_ZONE,
                body(root.get("batch")),
                root.has("overlap") ? overlap(root) : ScheduleDefinition.DEFAULT_OVERLAP,
                root.has("catchUp") ? catchUp(root) : ScheduleDefinition.DEFAULT_CATCH_UP,
                root.has("paused") && bool(root, "paused"));
        Schedules.Shown created = schedules.create(definition, Caller.of(ctx).owner());
        ctx.header("Location", "/api/v1/schedules/" + created.row().id());
        ctx.status(201).json(Views.Schedule.of(created, true));
    }

    void list(Context ctx) {
        ctx.json(schedules.list(Caller.of(ctx).ownerFilter()).stream().map(s -> Views.Schedule.of(s, false)).toList());
    }

    void get(Context ctx) {
        ctx.json(Views.Schedule.of(find(ctx), true));
    }

    /** Any of the create fields; those left out keep their value. */
    void update(Context ctx) {
        ScheduleRow before = find(ctx).row();
        JsonNode root = ApiServer.readObject(ctx.body(), "body must be a JSON object like {\"paused\": true}");
        checkFields(root);
        ScheduleDefinition definition = new ScheduleDefinition(
                root.has("name") ? text(root, "name") : before.name(),
                root.has("cron") ? text(root, "cron") : before.cron(),
                root.has("timeZone") ? text(root, "timeZone") : before.timeZone(),
                root.has("batch") ? body(root.get("batch")) : before.body(),
                root.has("overlap") ? overlap(root) : OverlapPolicy.of(before.overlap()),
                root.has("catchUp") ? catchUp(root) : CatchUpPolicy.of(before.catchUp()),
                root.has("paused") ? bool(root, "paused") : before.paused());
        Schedules.Shown after = schedules.update(before.id(), definition, root.has("batch"), Caller.of(ctx).owner())
                .orElseThrow(() -> ApiError.notFound("schedule " + before.id()));
        ctx.json(Views.Schedule.of(after, true));
    }

    /** The schedule goes; its batches stay (their scheduleId becomes null). */
    void delete(Context ctx) {
        long id = find(ctx).row().id();
        if (!schedules.delete(id)) throw ApiError.notFound("schedule " + id);
        ctx.status(204);
    }

    /** The schedule of the path (an id, or a name, which starts with a letter), if this caller may see it. */
    private Schedules.Shown find(Context ctx) {
        String raw = ctx.pathParam("id");
        String owner = Caller.of(ctx).ownerFilter();
        if (!raw.isEmpty() && raw.chars().allMatch(Character::isDigit)) {
            long id = BatchHandlers.pathId(ctx, "schedule");
            return schedules.find(id, owner).orElseThrow(() -> ApiError.notFound("schedule " + id));
        }
        return schedules.findByName(raw, owner).orElseThrow(() -> ApiError.notFound("schedule '" + raw + "'"));
    }

    private static void checkFields(JsonNode root) {
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) throw ApiError.badRequest("unknown field '" + name + "' (known: " + KNOWN + ")");
        }
    }

    private static String text(JsonNode root, String field) {
        JsonNode value = root.get(field);
        if (value == null || !value.isTextual()) throw ApiError.badRequest(field + " must be a string");
        return value.asText();
    }

    private static boolean bool(JsonNode root, String field) {
        JsonNode value = root.get(field);
        if (!value.isBoolean()) throw ApiError.badRequest(field + " must be true or false");
        return value.asBoolean();
    }

    private static OverlapPolicy overlap(JsonNode root) {
        try {
            return OverlapPolicy.of(text(root, "overlap"));
        } catch (IllegalArgumentException e) {
            throw new ApiError(400, e.getMessage(), Map.of("field", "overlap", "known", OverlapPolicy.names()));
        }
    }

    private static CatchUpPolicy catchUp(JsonNode root) {
        try {
            return CatchUpPolicy.of(text(root, "catchUp"));
        } catch (IllegalArgumentException e) {
            throw new ApiError(400, e.getMessage(), Map.of("field", "catchUp", "known", CatchUpPolicy.names()));
        }
    }

    /** The batch body as JSON text, to be stored and read by intake as a POST body would be. */
    private static String body(JsonNode batch) {
        if (batch == null || !batch.isObject()) {
            throw ApiError.badRequest("batch must be an object: the body of a POST /api/v1/batches, e.g. "
                    + "{\"type\": \"healthcheck\", \"targets\": [\"https://example.org/\"]}");
        }
        try {
            return ApiServer.JSON.writeValueAsString(batch);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
