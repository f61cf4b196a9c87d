package dev.procq.store;

import java.sql.Connection;
import java.sql.SQLException;
import org.jdbi.v3.core.ConnectionFactory;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.postgres.PostgresPlugin;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;

/**
 * One connection, used by one thread at a time, kept open between uses. After a failure its
 * user calls {@link #discard()}, and the next use connects anew at once: no pool in between whose
 * back-off could delay the first use after an outage by seconds.
 */
public final class SingleConnection implements AutoCloseable {
    /** Opens the physical connection. */
    @FunctionalInterface
    public interface Opener {
        Connection open() throws SQLException;
    }

    private final Opener opener;
    private final Jdbi jdbi;
    private Connection connection;

    SingleConnection(Opener opener) {
        this.opener = opener;
        this.jdbi = Jdbi.create(new ConnectionFactory() {
            @Override
            public Connection openConnection() throws SQLException {
                return current();
            }

            @Override
            public void closeConnection(Connection toClose) {
                // kept for the next use; discard() is what closes it
            }
        }).installPlugin(new SqlObjectPlugin()).installPlugin(new PostgresPlugin());
    }

    public Jdbi jdbi() {
        return jdbi;
    }

    private synchronized Connection current() throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = opener.open();
        }
        return connection;
    }

    /** Closes the connection after a failure; the next use opens a new one. */
    public synchronized void discard() {
        if (connection == null) return;
        try {
            connection.close();
        } catch (SQLException ignored) {
            // broken already: nothing more to close
        }
        connection = null;
    }

    @Override
    public void close() {
        discard();
    }
}
