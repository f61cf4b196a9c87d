package dev.procq.config;

/**
 * The range of a batch's priority, for the API and the CLI alike: lower runs first. The CHECK on
 * procq.batch.priority (V1__schema.sql) holds the same bounds; BatchIntakeTest keeps the two equal.
 */
public final class Priority {
    public static final int MIN = -1000;
    public static final int MAX = 1000;
    /** As the CLI and the API state it, e.g. in a usage message. */
    public static final String RANGE = MIN + ".." + MAX;

    private Priority() {
    }

    public static boolean inRange(int priority) {
        return priority >= MIN && priority <= MAX;
    }
}
