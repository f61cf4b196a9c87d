package dev.procq.worker;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs small periodic services on one thread of their own. Each run is caught whole: a service
 * that throws (the database is away, a bug) is logged and runs again at its next turn, where a
 * bare ScheduledExecutorService would silently never run it again. Lease renewal is never one
 * of them: it has its own thread and connection (see {@link LeaseKeeper}).
 */
final class Maintenance implements AutoCloseable {
    /** One periodic service. */
    interface Task {
        String name();

        /** Does one round of work; returns how long to wait before the next. */
        Duration runOnce();
    }

    /** A task from a name and its body. */
    static Task task(String name, java.util.function.Supplier<Duration> body) {
        return new Task() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Duration runOnce() {
                return body.get();
            }
        };
    }

    private static final Logger log = LoggerFactory.getLogger(Maintenance.class);

    private final ScheduledExecutorService scheduler;
    private volatile boolean closed;

    Maintenance(String threadName) {
        scheduler = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, threadName);
            thread.setDaemon(true);
            return thread;
        });
    }

    /** Runs {@code task} after {@code firstDelay}, then again each time after the delay it returns. */
    Maintenance schedule(Task task, Duration firstDelay, Duration retryAfterFailure) {
        scheduler.schedule(() -> run(task, retryAfterFailure), firstDelay.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** Runs {@code task} now, on the services' thread, besides its schedule (e.g. on a notification). */
    void runSoon(Task task) {
        if (closed) return;
        try {
            scheduler.execute(() -> runQuietly(task));
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // closed meanwhile: nothing more to run
        }
    }

    private void run(Task task, Duration retryAfterFailure) {
        Duration next = runQuietly(task);
        if (closed) return;
        try {
            scheduler.schedule(() -> run(task, retryAfterFailure),
                    (next == null ? retryAfterFailure : next).toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // closed meanwhile: nothing more to run
        }
    }

    /** The task's next delay, or null when it failed. */
    private static Duration runQuietly(Task task) {
        try {
            return task.runOnce();
        } catch (Throwable e) {
            log.warn("{} failed: {}", task.name(), e.toString());
            return null;
        }
    }

    @Override
    public void close() {
        closed = true;
        scheduler.shutdownNow();
    }
}
