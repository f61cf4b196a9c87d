package dev.procq;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import sun.misc.Signal;

/**
 * SIGTERM and SIGINT as the daemons need them: the first asks for a graceful stop, a second
 * one asks to hurry (skip the rest of the grace period). The JVM's own handling would run
 * shutdown hooks once and ignore the second signal.
 */
final class ShutdownSignals {
    private final CountDownLatch requested = new CountDownLatch(1);
    private final AtomicInteger received = new AtomicInteger();
    private volatile Runnable onHurry = () -> { };
    private volatile Runnable onRequest = () -> { };

    ShutdownSignals install() {
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), signal -> {
                if (received.incrementAndGet() == 1) {
                    System.err.println("procq: SIG" + name + " received, stopping (send it again to hurry)");
                    onRequest.run();
                    requested.countDown();
                } else {
                    System.err.println("procq: SIG" + name + " again, stopping running children now");
                    onHurry.run();
                }
            });
        }
        return this;
    }

    /**
     * Runs on the first signal, in the signal's thread: for work that must stop even while the
     * main thread is still busy starting (a worker waiting for the database to register).
     */
    void onRequest(Runnable action) {
        this.onRequest = action;
    }

    void onHurry(Runnable action) {
        this.onHurry = action;
    }

    void await() throws InterruptedException {
        requested.await();
    }
}
