package dev.procq.store;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/** What the server session procq's statement lands on has set, whoever set it: procq, the role, or a pooler. */
@RegisterConstructorMapper(ServerTimeouts.class)
public interface SessionSettingsDao {
    /** pg_settings gives both in milliseconds, whatever unit they were set in. */
    @SqlQuery("""
            SELECT max(setting::bigint) FILTER (WHERE name = 'statement_timeout') AS statement_millis,
                   max(setting::bigint) FILTER (WHERE name = 'lock_timeout') AS lock_millis
              FROM pg_settings
             WHERE name IN ('statement_timeout', 'lock_timeout')""")
    ServerTimeouts timeouts();
}
