package dev.procq.schedule;

/**
 * What a schedule is, as a client gives it: {@code body} is the JSON text of a POST /api/v1/batches
 * body, submitted at each tick of {@code cron} in {@code timeZone}.
 */
public record ScheduleDefinition(String name, String cron, String timeZone, String body, OverlapPolicy overlap,
                                 CatchUpPolicy catchUp, boolean paused) {
    public static final String DEFAULT_TIME_ZONE = "UTC";
    public static final OverlapPolicy DEFAULT_OVERLAP = OverlapPolicy.SKIP;
    public static final CatchUpPolicy DEFAULT_CATCH_UP = CatchUpPolicy.SKIP_MISSED;
}
