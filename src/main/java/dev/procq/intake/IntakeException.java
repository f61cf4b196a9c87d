package dev.procq.intake;

import java.util.Map;

/**
 * A submission that must be refused as a whole. {@code status} is the HTTP code (400, 404,
 * 413, 415); {@code detail} says where, e.g. {"index": 41, "target": "-rf"}.
 */
public final class IntakeException extends RuntimeException {
    private final int status;
    private final Map<String, Object> detail;

    public IntakeException(int status, String message, Map<String, Object> detail) {
        super(message);
        this.status = status;
        this.detail = detail == null ? Map.of() : Map.copyOf(detail);
    }

    public static IntakeException badRequest(String message) {
        return new IntakeException(400, message, Map.of());
    }

    private static final String NO_TARGETS = "no targets: a batch needs at least one";

    /** A submission that named no target at all (an empty list, a scan that matched nothing, an empty file). */
    static IntakeException noTargets() {
        return badRequest(NO_TARGETS);
    }

    /** True for {@link #noTargets()}: a schedule's scan or file may well be empty at one tick and not at the next. */
    public boolean isNoTargets() {
        return status == 400 && NO_TARGETS.equals(getMessage());
    }

    public int status() {
        return status;
    }

    public Map<String, Object> detail() {
        return detail;
    }
}
