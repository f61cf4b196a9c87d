package dev.procq.store;

import dev.procq.config.DatabasePooler;
import dev.procq.config.DatabaseTimeouts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The {@code statement_timeout} and {@code lock_timeout} a server session actually runs with, as
 * PostgreSQL reports them, in milliseconds; 0 is PostgreSQL's "no limit".
 */
public record ServerTimeouts(long statementMillis, long lockMillis) {
    public Duration statement() {
        return Duration.ofMillis(statementMillis);
    }

    public Duration lock() {
        return Duration.ofMillis(lockMillis);
    }

    /**
     * What leaves a wait on the server unbounded, or ended by the client instead of the server,
     * with the way to fix it; empty when both limits hold.
     */
    Optional<String> problem(DatabaseTimeouts wanted, DatabasePooler pooler) {
        List<String> found = new ArrayList<>();
        if (statementMillis == 0) {
            found.add("statement_timeout 0 (unbounded)");
        } else if (statementMillis > wanted.socket().toMillis()) {
            // The client's read timeout fires first and drops the connection mid-statement.
            found.add("statement_timeout " + postgresUnits(statementMillis) + ", longer than procq's read timeout of "
                    + postgresUnits(wanted.socket().toMillis()));
        }
        if (lockMillis == 0) found.add("lock_timeout 0 (unbounded)");
        if (found.isEmpty()) return Optional.empty();
        String statement = postgresUnits(wanted.statement().toMillis());
        String lock = postgresUnits(wanted.lock().toMillis());
        String fix = pooler.sharesServerSessions()
                ? "behind PROCQ_DATABASE_POOLER=" + pooler.setting() + " procq cannot set them itself; set them for its "
                        + "role, e.g. ALTER ROLE procq SET statement_timeout = '" + statement + "'; ALTER ROLE procq SET "
                        + "lock_timeout = '" + lock + "'; and reconnect PgBouncer's server connections (docs/pgbouncer.md)"
                : "procq asked for statement_timeout " + statement + " and lock_timeout " + lock
                        + " in its startup options, so something between procq and PostgreSQL drops them";
        return Optional.of("PostgreSQL runs procq's statements with " + String.join(" and ", found) + ": " + fix);
    }

    /** A value PostgreSQL accepts for a time setting: whole seconds when it can, else milliseconds. */
    static String postgresUnits(long millis) {
        return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
    }
}
