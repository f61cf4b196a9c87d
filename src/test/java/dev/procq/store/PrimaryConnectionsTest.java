package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procq.config.DatabasePooler;
import dev.procq.config.DatabaseTimeouts;
import dev.procq.config.Settings.DatabaseTarget;
import dev.procq.testing.PostgresExtension;
import java.util.Properties;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.Driver;

/** Every connection procq keeps is on a server that takes writes: the primary, never a standby. */
class PrimaryConnectionsTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    /** What pgjdbc connects with: procq's connection properties under the URL's own parameters. */
    static Properties effective(String url) {
        DatabaseTarget target = DatabaseTarget.parse(url, null, null);
        return Driver.parseURL(target.jdbcUrl(), Database.connectionProperties(target, DatabaseTimeouts.DEFAULT, DatabasePooler.NONE));
    }

    @Test
    void aUrlNamingSeveralServersConnectsToThePrimaryUnlessItSaysOtherwise() {
        assertThat(effective("jdbc:postgresql://db-a:5432,db-b:5432/procq").getProperty("targetServerType"))
                .isEqualTo("primary");
        assertThat(effective("postgres://app@db-a,db-b/procq").getProperty("targetServerType")).isEqualTo("primary");
        assertThat(effective("jdbc:postgresql://db-a,db-b/procq?targetServerType=any").getProperty("targetServerType"))
                .isEqualTo("any");
        // One server: nothing to choose, so pgjdbc's own default (any) stands.
        assertThat(effective("jdbc:postgresql://db-a/procq").getProperty("targetServerType")).isNull();
    }

    @Test
    void aConnectionWhoseServerRefusesWritesIsDroppedFromThePool() {
        try (Database database = new Database(postgres.target(), "read-only", 1)) {
            int firstBackend;
            try (Handle handle = database.jdbi().open()) {
                firstBackend = handle.createQuery("SELECT pg_backend_pid()").mapTo(Integer.class).one();
                // As on a standby, or an old primary being demoted: every write fails with 25006.
                handle.execute("SET SESSION default_transaction_read_only = on");
                assertThatThrownBy(() -> handle.execute("UPDATE procq.worker SET heartbeat_at = now() WHERE false"))
                        .hasRootCauseMessage("ERROR: cannot execute UPDATE in a read-only transaction");
            }
            // The pool's only connection was dropped: the next checkout is a new session that writes.
            try (Handle handle = database.jdbi().open()) {
                assertThat(handle.createQuery("SELECT pg_backend_pid()").mapTo(Integer.class).one()).isNotEqualTo(firstBackend);
                assertThat(handle.createQuery("SHOW default_transaction_read_only").mapTo(String.class).one()).isEqualTo("off");
                handle.execute("UPDATE procq.worker SET heartbeat_at = now() WHERE false");
            }
        }
    }
}
