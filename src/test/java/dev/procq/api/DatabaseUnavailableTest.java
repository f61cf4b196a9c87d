package dev.procq.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.junit.jupiter.api.Test;

/** Which failures the API answers with 503 and Retry-After (try again) rather than 500 (a bug). */
class DatabaseUnavailableTest {
    @Test
    void noConnectionAShutdownAndAServerThatTakesNoWritesAreUnavailable() {
        assertThat(ApiServer.isDatabaseUnavailable(new SQLTransientConnectionException("pool timed out"))).isTrue();
        assertThat(ApiServer.isDatabaseUnavailable(new SQLException("Connection refused", "08001"))).isTrue();
        assertThat(ApiServer.isDatabaseUnavailable(new SQLException("terminating connection", "57P01"))).isTrue();
        // Mid-failover, on a standby or a primary being demoted: the pool drops that connection.
        assertThat(ApiServer.isDatabaseUnavailable(new UnableToExecuteStatementException(
                new SQLException("cannot execute INSERT in a read-only transaction", "25006"), null))).isTrue();
    }

    @Test
    void otherDatabaseErrorsAreNot() {
        assertThat(ApiServer.isDatabaseUnavailable(new SQLException("duplicate key", "23505"))).isFalse();
        assertThat(ApiServer.isDatabaseUnavailable(new IllegalStateException("bug"))).isFalse();
    }
}
