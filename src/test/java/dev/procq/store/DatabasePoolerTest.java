package dev.procq.store;

import dev.procq.config.DatabaseTimeouts;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import dev.procq.config.DatabasePooler;
import dev.procq.security.CapturedLogs;
import dev.procq.testing.PostgresExtension;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What PROCQ_DATABASE_POOLER=pgbouncer changes on every connection, seen from PostgreSQL itself
 * (no PgBouncer here; PgBouncerTest runs procq through a real one): no statement is ever
 * prepared under a name, no startup options are sent, the timeouts the server applies instead
 * are read back and warned about when unbounded, and migrations are refused.
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
    void behindPgBouncerTheTimeoutsComeFromTheServerAndAnUnboundedOneIsWarnedAbout() {
        String name = postgres.database().jdbi().withHandle(h -> h.createQuery("SELECT current_database()")
                .mapTo(String.class).one());
        try (CapturedLogs logs = new CapturedLogs(Level.INFO)) {
            try (Database database = new Database(postgres.target(), "unbounded", 1, DatabaseTimeouts.DEFAULT,
                    DatabasePooler.PGBOUNCER)) {
                // No startup options: the session has the server's defaults, PostgreSQL's being none.
                assertThat(database.checkServerTimeouts()).contains(new ServerTimeouts(0, 0));
            }
            assertThat(warnings(logs)).singleElement().asString()
                    .contains("statement_timeout 0 (unbounded) and lock_timeout 0 (unbounded)")
                    .contains("ALTER ROLE procq SET statement_timeout = '30s'; ALTER ROLE procq SET lock_timeout = '5s'");
        }

        postgres.database().jdbi().useHandle(h -> {
            h.execute("ALTER DATABASE " + name + " SET statement_timeout = '30s'");
            h.execute("ALTER DATABASE " + name + " SET lock_timeout = '5s'");
        });
        try (CapturedLogs logs = new CapturedLogs(Level.INFO);
             Database database = new Database(postgres.target(), "bounded", 1, DatabaseTimeouts.DEFAULT,
                     DatabasePooler.PGBOUNCER)) {
            // What a server session inherits from the database (or role) settings holds for procq's statements.
            assertThat(database.checkServerTimeouts()).contains(new ServerTimeouts(30_000, 5_000));
            assertThat(warnings(logs)).isEmpty();
        } finally {
            postgres.database().jdbi().useHandle(h -> h.execute("ALTER DATABASE " + name + " RESET ALL"));
        }
    }

    @Test
    void withoutAPoolerProcqSetsItsOwnTimeoutsAndHasNothingToWarnAbout() {
        try (CapturedLogs logs = new CapturedLogs(Level.INFO);
             Database database = new Database(postgres.target(), "direct", 1, DatabaseTimeouts.DEFAULT)) {
            assertThat(database.checkServerTimeouts()).contains(new ServerTimeouts(30_000, 5_000));
            assertThat(warnings(logs)).isEmpty();
        }
    }

    @Test
    void aServerLimitPastTheReadTimeoutIsAProblemToo() {
        // The client's read timeout (statement timeout plus 5 s) would end such a statement by dropping its connection.
        assertThat(new ServerTimeouts(120_000, 5_000).problem(DatabaseTimeouts.DEFAULT, DatabasePooler.PGBOUNCER))
                .hasValueSatisfying(problem -> assertThat(problem)
                        .contains("statement_timeout 120s, longer than procq's read timeout of 35s"));
        assertThat(new ServerTimeouts(30_000, 0).problem(DatabaseTimeouts.DEFAULT, DatabasePooler.NONE))
                .hasValueSatisfying(problem -> assertThat(problem).contains("lock_timeout 0 (unbounded)")
                        .contains("something between procq and PostgreSQL drops them"));
        assertThat(new ServerTimeouts(30_000, 5_000).problem(DatabaseTimeouts.DEFAULT, DatabasePooler.PGBOUNCER)).isEmpty();
    }

    @Test
    void migrationsNeverRunThroughATransactionModePooler() {
        try (Database database = new Database(postgres.target(), "migrate", 1, DatabaseTimeouts.DEFAULT,
                DatabasePooler.PGBOUNCER)) {
            assertThatThrownBy(database::migrate).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("PROCQ_DATABASE_POOLER=pgbouncer");
        }
    }

    static List<String> warnings(CapturedLogs logs) {
        return logs.lines().stream().filter(line -> line.startsWith("WARN") && line.contains("timeout")).toList();
    }
}
