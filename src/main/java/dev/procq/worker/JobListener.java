package dev.procq.worker;

import dev.procq.store.Database;
import dev.procq.store.NotificationConnection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LISTENs for new jobs and cancels on a connection of its own, so an idle worker starts a
 * job milliseconds after it is submitted. Polling stays the fallback: a lost notification
 * only costs one poll interval.
 *
 * <p>A listening connection only reads, so a server that vanished without closing it (its host
 * went down, the path was cut, the primary failed over) would go unnoticed for as long as TCP
 * keepalive takes, hours by default. Every {@link #CHECK_INTERVAL} the connection must answer a
 * round trip within {@link #CHECK_TIMEOUT_SECONDS}; if it does not, the listener connects anew,
 * to the primary of the moment.
 */
final class JobListener implements Runnable {
    static final Duration RECONNECT_DELAY = Duration.ofSeconds(2);
    static final Duration CHECK_INTERVAL = Duration.ofSeconds(5);
    static final int CHECK_TIMEOUT_SECONDS = 2;
    private static final Logger log = LoggerFactory.getLogger(JobListener.class);

    private final Database database;
    private final Consumer<String> onNotification;
    private final Duration checkInterval;
    private volatile boolean stopping;
    private volatile NotificationConnection connection;

    JobListener(Database database, Consumer<String> onNotification) {
        this(database, onNotification, CHECK_INTERVAL);
    }

    JobListener(Database database, Consumer<String> onNotification, Duration checkInterval) {
        this.database = database;
        this.onNotification = onNotification;
        this.checkInterval = checkInterval;
    }

    @Override
    public void run() {
        boolean warned = false;
        while (!stopping) {
            try (NotificationConnection conn = database.listenForJobs()) {
                connection = conn;
                warned = false;
                // Anything announced while not listening is picked up by this wake-up.
                onNotification.accept("");
                long nextCheck = System.nanoTime() + checkInterval.toNanos();
                while (!stopping) {
                    conn.await(500).forEach(onNotification);
                    if (System.nanoTime() - nextCheck >= 0) {
                        conn.check(CHECK_TIMEOUT_SECONDS);
                        nextCheck = System.nanoTime() + checkInterval.toNanos();
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
        NotificationConnection conn = connection;
        if (conn != null) {
            try {
                conn.close();
            } catch (SQLException ignored) {
                // closing to unblock await; nothing else to do
            }
        }
    }
}
