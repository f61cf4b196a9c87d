package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procq.config.DatabaseTimeouts;
import dev.procq.config.Settings;
import dev.procq.config.Settings.DatabaseTarget;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.SilentProxy;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** No wait on PostgreSQL is without end: the server's statement and lock timeouts, and the client's own. */
class DatabaseTimeoutsTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final DatabaseTimeouts SHORT =
            new DatabaseTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofMillis(300));

    @Test
    void everySessionRunsWithTheStatementAndLockTimeouts() {
        try (Database database = new Database(postgres.target(), "timeouts", 2, SHORT)) {
            try (Handle handle = database.jdbi().open()) {
                assertThat(handle.createQuery("SHOW statement_timeout").mapTo(String.class).one()).isEqualTo("1s");
                assertThat(handle.createQuery("SHOW lock_timeout").mapTo(String.class).one()).isEqualTo("300ms");
            }
        }
    }

    @Test
    void aStatementPastTheTimeoutIsCancelledByTheServer() {
        try (Database database = new Database(postgres.target(), "timeouts", 2, SHORT)) {
            long started = System.nanoTime();
            assertThatThrownBy(() -> database.jdbi().useHandle(h -> h.execute("SELECT pg_sleep(10)")))
                    .hasMessageContaining("statement timeout");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        }
    }

    @Test
    void aStatementQueuedBehindALockGivesUpAfterTheLockTimeout() throws Exception {
        try (Database database = new Database(postgres.target(), "timeouts", 2, SHORT)) {
            CountDownLatch locked = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            Thread holder = new Thread(() -> {
                try {
                    postgres.database().jdbi().useTransaction(h -> {
                        h.execute("LOCK TABLE procq.worker IN ACCESS EXCLUSIVE MODE");
                        locked.countDown();
                        done.await(10, TimeUnit.SECONDS);
                    });
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            holder.start();
            try {
                assertThat(locked.await(10, TimeUnit.SECONDS)).isTrue();
                long started = System.nanoTime();
                assertThatThrownBy(() -> database.jdbi().useHandle(h -> h.execute("SELECT count(*) FROM procq.worker")))
                        .hasMessageContaining("lock timeout");
                assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
            } finally {
                done.countDown();
                holder.join();
            }
        }
    }

    @Test
    void aSilentlyDroppedPathEndsInAnErrorInsteadOfAWaitWithoutEnd() {
        DatabaseTarget direct = postgres.target();
        try (SilentProxy proxy = SilentProxy.inFrontOf(direct.jdbcUrl());
             Database database = new Database(new DatabaseTarget(proxy.rewrite(direct.jdbcUrl()), direct.user(),
                     direct.password()), "timeouts", 1, SHORT)) {
            assertThat(select(database, 1)).isEqualTo(1);
            proxy.drop();
            long started = System.nanoTime();
            // The pooled connection is the one behind the cut: nothing comes back on it, ever.
            assertThatThrownBy(() -> database.jdbi().useHandle(h -> h.execute("SELECT 1")));
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            assertThat(took).as("gave up within the socket timeout").isLessThan(SHORT.socket().plusSeconds(5));
            proxy.heal();
            // A fresh connection through the healed path works: the pool dropped the broken one.
            assertThat(select(database, 2)).isEqualTo(2);
        }
    }

    @Test
    void theTimeoutsAreSettingsWithBoundedDefaults() {
        DatabaseTimeouts defaults = new Settings(Map.of()).databaseTimeouts();
        assertThat(defaults).isEqualTo(DatabaseTimeouts.DEFAULT);
        assertThat(defaults.socket()).isGreaterThan(defaults.statement());
        DatabaseTimeouts set = new Settings(Map.of("PROCQ_DATABASE_STATEMENT_TIMEOUT", "2m",
                "PROCQ_DATABASE_LOCK_TIMEOUT", "750ms", "PROCQ_DATABASE_CONNECT_TIMEOUT", "3s")).databaseTimeouts();
        assertThat(set).isEqualTo(new DatabaseTimeouts(Duration.ofSeconds(3), Duration.ofMinutes(2), Duration.ofMillis(750)));
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_DATABASE_STATEMENT_TIMEOUT", "0s")).databaseTimeouts())
                .hasMessageContaining("PROCQ_DATABASE_STATEMENT_TIMEOUT=0s");
    }

    static int select(Database database, int value) {
        return database.jdbi().withHandle(h -> h.createQuery("SELECT " + value).mapTo(Integer.class).one());
    }
}
