package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.config.DatabasePooler;
import dev.procq.config.DatabaseTimeouts;
import dev.procq.config.Settings.DatabaseTarget;
import dev.procq.testing.PostgresExtension;
import java.util.Properties;
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
}
