package dev.procq.schedule;

import dev.procq.intake.Intake;
import dev.procq.intake.IntakeException;
import dev.procq.store.ScheduleBatch;
import dev.procq.store.ScheduleDao;
import dev.procq.store.ScheduleRow;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;

/**
 * Defining schedules: every definition is checked before anything is written, and its body by
 * {@link Intake#check}, so a schedule never stores what POST /api/v1/batches would refuse. A
 * scan or file that is empty today is accepted: it may not be at the next tick.
 */
public final class Schedules {
    /** How many of its latest batches a schedule is shown with. */
    public static final int RECENT_BATCHES = 5;
    private static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9._-]{0,99}");

    private final Jdbi jdbi;
    private final Intake intake;
    private final Clock clock;

    public Schedules(Jdbi jdbi, Intake intake, Clock clock) {
        this.jdbi = jdbi;
        this.intake = intake;
        this.clock = clock;
    }

    /** A schedule with its latest batches, newest tick first. */
    public record Shown(ScheduleRow row, List<ScheduleBatch> recent) {
    }

    /** Creates the schedule, or refuses it (400, or 409 for a name in use) having written nothing. */
    public Shown create(ScheduleDefinition definition, String owner) {
        CronSchedule cron = check(definition, owner, true);
        Instant next = cron.next(clock.instant()).orElseThrow();
        long id = jdbi.withExtension(ScheduleDao.class, dao -> dao.insert(definition.name(), cron.expression(),
                definition.timeZone(), definition.body(), definition.overlap().wire(), definition.catchUp().wire(),
                definition.paused(), next.atOffset(ZoneOffset.UTC), owner))
                .orElseThrow(() -> nameTaken(definition.name()));
        return find(id, null).orElseThrow();
    }

    /**
     * Replaces the definition of schedule {@code id}; the body is checked again only when it
     * changed, so a schedule whose scan root went away can still be paused. Empty: no such schedule.
     */
    public Optional<Shown> update(long id, ScheduleDefinition definition, boolean bodyChanged, String owner) {
        CronSchedule cron = check(definition, owner, bodyChanged);
        Optional<ScheduleRow> before = jdbi.withExtension(ScheduleDao.class, dao -> dao.find(id));
        if (before.isEmpty()) return Optional.empty();
        try {
            jdbi.useTransaction(handle -> {
                ScheduleDao dao = handle.attach(ScheduleDao.class);
                dao.update(id, definition.name(), cron.expression(), definition.timeZone(), definition.body(),
                        definition.overlap().wire(), definition.catchUp().wire(), definition.paused());
                // the trigger cleared next_run_at if the cron, zone or pause changed: from now on
                cron.next(clock.instant()).ifPresent(next -> dao.setNextIfUnset(id, next.atOffset(ZoneOffset.UTC)));
            });
        } catch (RuntimeException e) {
            if (Scheduler.hasSqlState(e, "23505")) throw nameTaken(definition.name());
            throw e;
        }
        return find(id, null);
    }

    public boolean delete(long id) {
        return jdbi.withExtension(ScheduleDao.class, dao -> dao.delete(id));
    }

    /** The schedule by id, if {@code owner} owns it (null: any). */
    public Optional<Shown> find(long id, String owner) {
        return jdbi.withExtension(ScheduleDao.class, dao -> dao.findOwnedBy(id, owner)).map(this::shown);
    }

    /** The schedule by name, if {@code owner} owns it (null: any). */
    public Optional<Shown> findByName(String name, String owner) {
        return jdbi.withExtension(ScheduleDao.class, dao -> dao.findByNameOwnedBy(name, owner)).map(this::shown);
    }

    /** Every schedule of {@code owner} (null: all), by name, each with its latest batches. */
    public List<Shown> list(String owner) {
        return jdbi.withExtension(ScheduleDao.class, dao -> {
            List<ScheduleRow> rows = dao.listOwnedBy(owner);
            if (rows.isEmpty()) return List.of();
            Map<Long, List<ScheduleBatch>> recent = dao.recentBatches(rows.stream().map(ScheduleRow::id).toList(),
                    RECENT_BATCHES).stream().collect(java.util.stream.Collectors.groupingBy(ScheduleBatch::scheduleId));
            return rows.stream().map(row -> new Shown(row, recent.getOrDefault(row.id(), List.of()))).toList();
        });
    }

    private Shown shown(ScheduleRow row) {
        return new Shown(row, jdbi.withExtension(ScheduleDao.class, dao -> dao.recentBatches(List.of(row.id()), RECENT_BATCHES)));
    }

    /** Everything but the name's uniqueness: name, cron, zone, and (when asked) the body, by a dry run of intake. */
    private CronSchedule check(ScheduleDefinition definition, String owner, boolean checkBody) {
        if (definition.name() == null || !NAME.matcher(definition.name()).matches()) {
            throw refusal("name must be a letter, then letters, digits, '.', '_' or '-', at most 100 in all; got "
                    + (definition.name() == null ? "none" : "'" + definition.name() + "'"), "name");
        }
        CronSchedule cron;
        try {
            cron = CronSchedule.parse(definition.cron(), definition.timeZone());
        } catch (IllegalArgumentException e) {
            throw refusal(e.getMessage(), e.getMessage().startsWith("timeZone") ? "timeZone" : "cron");
        }
        if (checkBody) {
            try {
                intake.check(definition.body().getBytes(StandardCharsets.UTF_8), owner);
            } catch (IntakeException e) {
                // An empty scan or file is what it is today; an empty list of targets stays empty.
                if (!e.isNoTargets() || listsTargets(definition.body())) {
                    throw new IntakeException(e.status() == 413 ? 413 : 400, "batch: " + e.getMessage(),
                            withPosition(e.detail()));
                }
            }
        }
        return cron;
    }

    private static boolean listsTargets(String body) {
        try {
            return BODIES.readTree(body).has("targets");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return true;
        }
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper BODIES = new com.fasterxml.jackson.databind.ObjectMapper();

    private static Map<String, Object> withPosition(Map<String, Object> detail) {
        Map<String, Object> all = new java.util.LinkedHashMap<>(detail);
        all.put("field", "batch");
        return all;
    }

    private static IntakeException refusal(String message, String field) {
        return new IntakeException(400, message, Map.of("field", field));
    }

    private static IntakeException nameTaken(String name) {
        return new IntakeException(409, "a schedule named '" + name + "' exists already", Map.of("name", name));
    }

}
