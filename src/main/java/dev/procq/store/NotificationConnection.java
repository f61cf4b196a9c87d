package dev.procq.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * A connection of its own, LISTENing on {@link JobNotifications#CHANNEL}. One thread reads it;
 * {@link #close()} may come from another, to end a {@link #await} that is waiting.
 */
public final class NotificationConnection implements AutoCloseable {
    private final Connection connection;
    private final PGConnection pg;

    NotificationConnection(Connection connection) throws SQLException {
        this.connection = connection;
        try (Statement statement = connection.createStatement()) {
            statement.execute("LISTEN " + JobNotifications.CHANNEL);
        }
        this.pg = connection.unwrap(PGConnection.class);
    }

    /** The payloads that arrived, waiting up to {@code timeoutMillis} for the first; empty if none did. */
    public List<String> await(int timeoutMillis) throws SQLException {
        PGNotification[] notifications = pg.getNotifications(timeoutMillis);
        List<String> payloads = new ArrayList<>(notifications == null ? 0 : notifications.length);
        if (notifications != null) {
            for (PGNotification notification : notifications) payloads.add(notification.getParameter());
        }
        return payloads;
    }

    /**
     * Fails unless the server answers a round trip within {@code timeoutSeconds}: a connection that
     * only reads would not notice a server that vanished without closing it.
     */
    public void check(int timeoutSeconds) throws SQLException {
        if (!connection.isValid(timeoutSeconds)) {
            throw new SQLException("the server did not answer within " + timeoutSeconds + "s", "08006");
        }
    }

    @Override
    public void close() throws SQLException {
        connection.close();
    }
}
