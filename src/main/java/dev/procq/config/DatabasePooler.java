package dev.procq.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * What stands between procq and PostgreSQL, and so whether a pooled connection is one server
 * session. Behind a pooler in transaction mode it is not: each transaction may run on another
 * server session, so procq keeps nothing in a session there (see docs/pgbouncer.md).
 */
public enum DatabasePooler {
    /** PostgreSQL itself, or a pooler in session mode: a connection is one server session while procq holds it. */
    NONE("none"),
    /** PgBouncer in transaction mode: no LISTEN, no named prepared statements, no startup options, no migrations. */
    PGBOUNCER("pgbouncer");

    private final String setting;

    DatabasePooler(String setting) {
        this.setting = setting;
    }

    /** True when consecutive transactions on one connection may run on different server sessions. */
    public boolean sharesServerSessions() {
        return this == PGBOUNCER;
    }

    /** The value of PROCQ_DATABASE_POOLER that selects it. */
    public String setting() {
        return setting;
    }

    static Optional<DatabasePooler> fromSetting(String value) {
        String wanted = value.toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(pooler -> pooler.setting.equals(wanted)).findFirst();
    }

    static String settings() {
        return String.join(", ", Arrays.stream(values()).map(DatabasePooler::setting).toList());
    }
}
