package dev.procq.worker;

import dev.procq.store.Database;
import dev.procq.store.JobNotifications;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LISTENs for new jobs and cancels on a connection of its own, so an idle worker starts a
 * job milliseconds after it is submitted. Polling stays the fallback: a lost notification
 * only costs one poll interval.
 */
final class JobListener implements Runnable {
    static final Duration RECONNECT_DELAY = Duration.ofSeconds(2);
    private static final Logger log = LoggerFactory.getLogger(JobListener.class);

    private final Database database;
    private final Consumer<String> onNotification;
    private volatile boolean stopping;
    private volatile Connection connection;

    JobListener(Database database, Consumer<String> onNotification) {
        this.database = database;
        this.onNotification = onNotification;
    }

    @Override
    public void run() {
        boolean warned = false;
        while (!stopping) {
            try (Connection conn = database.openDedicatedConnection()) {
                connection = conn;
                try (Statement statement = conn.createStatement()) {
                    statement.execute(JobNotifications.listenStatement());
                }
                warned = false;
                // Anything announced while not listening is picked up by this wake-up.
                onNotification.accept("");
                PGConnection pg = conn.unwrap(PGConnection.class);
                while (!stopping) {
                    PGNotification[] notifications = pg.getNotifications(500);
                    if (notifications == null) continue;
                    for (PGNotification notification : notifications) {
                        onNotification.accept(notification.getParameter());
                    }
                }
            } catch (SQLException e) {
                if (stopping) return;
                if (!warned) {
                    log.warn("notification connection lost ({}); polling until it is back", e.getMessage());
                    warned = true;
                }
                try {
                    Thread.sleep(RECONNECT_DELAY.toMillis());
                } catch (InterruptedException interrupted) {
                    return;
                }
            }
        }
    }

    void stop() {
        stopping = true;
        Connection conn = connection;
        if (conn != null) {
            try {
                conn.close();
            } catch (SQLException ignored) {
                // closing to unblock getNotifications; nothing else to do
            }
        }
    }
}
