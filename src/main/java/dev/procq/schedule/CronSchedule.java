package dev.procq.schedule;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.Set;

/**
 * A cron expression read in an IANA time zone, parsed by cron-utils. Six fields are Spring's
 * (5.3 and later): seconds first, {@code sec min hour day-of-month month day-of-week}, so
 * {@code * * * * * *} is every second and {@code 0 *&#47;5 * * * *} every five minutes. Five
 * fields are Unix cron's, without seconds ({@code *&#47;5 * * * *}: every five minutes, at second 0).
 * Ticks are wall-clock times in the zone: {@code 0 0 2 * * *} is 02:00 there, so a day whose
 * 02:00 does not exist (spring forward) has none and an hour that repeats runs once.
 */
public final class CronSchedule {
    private static final CronParser SPRING = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.SPRING53));
    private static final CronParser UNIX = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
    private static final Set<String> ZONES = ZoneId.getAvailableZoneIds();

    private final String expression;
    private final ZoneId zone;
    private final ExecutionTime times;

    private CronSchedule(String expression, ZoneId zone, ExecutionTime times) {
        this.expression = expression;
        this.zone = zone;
        this.times = times;
    }

    /** Parses and checks both; the message of the IllegalArgumentException names the bad one and why. */
    public static CronSchedule parse(String expression, String timeZone) {
        ZoneId zone = zone(timeZone);
        String trimmed = expression == null ? "" : expression.trim();
        int fields = trimmed.isEmpty() ? 0 : trimmed.split("\\s+").length;
        CronParser parser = switch (fields) {
            case 6 -> SPRING;
            case 5 -> UNIX;
            default -> throw new IllegalArgumentException("cron '" + expression + "' has " + fields + " fields; give six"
                    + " (sec min hour day-of-month month day-of-week, e.g. \"0 */5 * * * *\") or Unix cron's five"
                    + " (min hour day-of-month month day-of-week, e.g. \"*/5 * * * *\")");
        };
        ExecutionTime times;
        try {
            times = ExecutionTime.forCron(parser.parse(trimmed).validate());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cron '" + expression + "': " + e.getMessage());
        }
        CronSchedule schedule = new CronSchedule(trimmed, zone, times);
        if (schedule.next(Instant.now()).isEmpty()) {
            throw new IllegalArgumentException("cron '" + expression + "' never fires");
        }
        return schedule;
    }

    /** An IANA zone name (Europe/Berlin, UTC); offsets such as +02:00 are refused, since they ignore daylight saving. */
    static ZoneId zone(String name) {
        if (name == null || !ZONES.contains(name)) {
            throw new IllegalArgumentException("timeZone '" + name + "' is not an IANA time zone name such as"
                    + " \"Europe/Berlin\", \"America/New_York\" or \"UTC\"");
        }
        return ZoneId.of(name);
    }

    /** The first tick strictly after {@code after}, a whole second; empty if there is none any more. */
    public Optional<Instant> next(Instant after) {
        // Ticks fall on whole seconds; cron-utils would keep the fraction of a moment between two.
        Instant second = after.truncatedTo(ChronoUnit.SECONDS);
        return times.nextExecution(ZonedDateTime.ofInstant(second, zone))
                .map(next -> next.toInstant().truncatedTo(ChronoUnit.SECONDS));
    }

    /** The last tick at or before {@code atOrBefore}; empty if there was none. */
    Optional<Instant> lastAtOrBefore(Instant atOrBefore) {
        Instant second = atOrBefore.truncatedTo(ChronoUnit.SECONDS).plusSeconds(1);
        return times.lastExecution(ZonedDateTime.ofInstant(second, zone))
                .map(last -> last.toInstant().truncatedTo(ChronoUnit.SECONDS));
    }

    public String expression() {
        return expression;
    }

    public ZoneId zone() {
        return zone;
    }
}
