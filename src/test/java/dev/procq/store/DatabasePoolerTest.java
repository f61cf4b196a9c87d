package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procq.config.DatabasePooler;
import dev.procq.testing.PostgresExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What PROCQ_DATABASE_POOLER=pgbouncer changes on every connection, seen from PostgreSQL itself
 * (no PgBouncer here; PgBouncerTest runs procq through a real one): no statement is ever
 * prepared under a name, no startup options are sent, and migrations are refused.
 */
class DatabasePoolerTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    /** Named statements left on the one connection after the same statements ran ten times on it. */
    static long namedStatementsAfterRepeats(DatabasePooler pooler) {
        try (Database database = new Database(postgres.target(), "prepared", 1, DatabaseTimeouts.DEFAULT, pooler)) {
            return database.jdbi().withHandle(handle -> {
                for (int i = 0; i < 10; i++) {
                    handle.attach(JobTypeDao.class).list();
                    handle.attach(JobTypeDao.class).find("type-" + i);
                    handle.attach(BatchDao.class).findFinishedBefore(1000, 10);
                }
                return handle.createQuery("SELECT count(*) FROM pg_prepared_statements").mapTo(Long.class).one();
            });
        }
    }

    @Test
    void behindPgBouncerNoStatementIsPreparedUnderAName() {
        // Directly, pgjdbc prepares a statement by name from its fifth run on: what a
        // transaction-mode pooler breaks, as the next run may land on another server session.
        assertThat(namedStatementsAfterRepeats(DatabasePooler.NONE)).isPositive();
        assertThat(namedStatementsAfterRepeats(DatabasePooler.PGBOUNCER)).isZero();
    }

    @Test
    void behindPgBouncerNoStartupOptionsAreSent() {
        try (Database database = new Database(postgres.target(), "options", 1, DatabaseTimeouts.DEFAULT,
                DatabasePooler.PGBOUNCER)) {
            String statementTimeout = database.jdbi().withHandle(h -> h.createQuery("SHOW statement_timeout")
                    .mapTo(String.class).one());
            // The server's default, PostgreSQL's being none: the limits must come from the role.
            assertThat(statementTimeout).isEqualTo("0");
        }
    }

    @Test
    void migrationsNeverRunThroughATransactionModePooler() {
        try (Database database = new Database(postgres.target(), "migrate", 1, DatabaseTimeouts.DEFAULT,
                DatabasePooler.PGBOUNCER)) {
            assertThatThrownBy(database::migrate).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("PROCQ_DATABASE_POOLER=pgbouncer");
        }
    }
}
