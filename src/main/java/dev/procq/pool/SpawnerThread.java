package dev.procq.pool;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that starts every child of a launcher.
 *
 * <p>Children ask the kernel for SIGKILL when their parent dies ({@code setpriv --pdeathsig}), and
 * for Linux the parent is the thread that forked, not the JVM: a child started from a pool thread
 * would be killed as soon as the pool retired that thread. This thread lives as long as the
 * launcher, and nothing a spawn does can end it.
 */
final class SpawnerThread {

    private static final Logger log = LoggerFactory.getLogger(SpawnerThread.class);
    private static final Runnable STOP = () -> { };

    private final BlockingQueue<Runnable> work = new LinkedBlockingQueue<>();
    private final Thread thread;
    private boolean stopping;

    SpawnerThread(String name) {
        thread = new Thread(this::serve, name);
        // A JVM that exits without closing the launcher takes its children with it (pdeathsig).
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Runs {@code task} on the spawner thread and returns its answer. Waits through interrupts:
     * once queued, the spawn happens, and the caller must get the child it started.
     *
     * @throws IllegalStateException when the thread was stopped or has died
     */
    <T> T call(Supplier<T> task) {
        FutureTask<T> future = new FutureTask<>(task::get);
        synchronized (this) {
            if (stopping) {
                throw new IllegalStateException("launcher is closed");
            }
            work.add(future);
        }
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return future.get(1, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (TimeoutException e) {
                    if (!thread.isAlive() && !future.isDone()) {
                        throw new IllegalStateException("the spawner thread has died");
                    }
                } catch (ExecutionException e) {
                    throw new IllegalStateException("spawning failed: " + e.getCause(),
                            e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Lets already queued work finish, then ends the thread. */
    synchronized void stop() {
        if (!stopping) {
            stopping = true;
            work.add(STOP);
        }
    }

    Thread thread() {
        return thread;
    }

    private void serve() {
        while (true) {
            Runnable next;
            try {
                next = work.take();
            } catch (InterruptedException e) {
                // Only STOP ends this thread: its death would kill every child it started.
                continue;
            }
            if (next == STOP) {
                return;
            }
            try {
                next.run();
            } catch (Throwable unexpected) {
                // FutureTask already keeps what the task throws; this guards the loop itself.
                log.error("spawn task failed", unexpected);
            }
        }
    }
}
