package dev.procq.pool;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts child processes and keeps track of them until they end. One per worker process.
 *
 * <pre>{@code
 * ChildLauncher launcher = ChildLauncher.open(Backend.AUTO);
 * RunningChild child = launcher.start(spec);   // never throws for a bad program
 * child.result().thenAccept(result -> ...);     // completes exactly once
 * child.stop("cancelled");                      // TERM the whole tree, grace, KILL
 * }</pre>
 */
public interface ChildLauncher extends AutoCloseable {

    /** How children are started; {@code PROCQ_SPAWNER} names one. */
    enum Backend {
        /** The resident spawn helper where it can run, else ProcessBuilder. */
        AUTO,
        /** The resident spawn helper, {@code procq-spawnd}: one exec per child, no thread per child. */
        NATIVE,
        /** The JDK's ProcessBuilder with util-linux wrappers. */
        JAVA
    }

    /**
     * A launcher of the given backend. {@link Backend#AUTO} says once, in the log, why it falls
     * back to ProcessBuilder.
     *
     * @throws IllegalStateException when the backend cannot work here, saying why
     */
    static ChildLauncher open(Backend backend) {
        return open(backend, null);
    }

    /**
     * A launcher of the given backend whose children each run in a cgroup of their own under
     * {@code cgroups} (null: none). Only the spawn helper places a child in its cgroup before it
     * runs; a ProcessBuilder launcher ignores the tree, and {@link #cgroups()} says so.
     */
    static ChildLauncher open(Backend backend, CgroupTree cgroups) {
        Logger log = LoggerFactory.getLogger(ChildLauncher.class);
        switch (backend) {
            case JAVA:
                return new ProcessBuilderLauncher();
            case NATIVE:
                try {
                    return SpawnHelperLauncher.start(cgroups);
                } catch (SpawnHelperUnavailable e) {
                    throw new IllegalStateException("PROCQ_SPAWNER=native, but the spawn helper"
                            + " cannot run: " + e.getMessage(), e);
                }
            default:
                try {
                    return SpawnHelperLauncher.start(cgroups);
                } catch (SpawnHelperUnavailable e) {
                    log.warn("spawn helper unavailable ({}); starting children through"
                            + " ProcessBuilder, which costs several execs and threads per child",
                            e.getMessage());
                    return new ProcessBuilderLauncher();
                }
        }
    }

    /**
     * Starts a child. A program that is missing, not executable or otherwise cannot start gives a
     * child whose result is {@link ChildResult.Outcome#SPAWN_FAILED}, never an exception.
     */
    RunningChild start(ChildSpec spec);

    /**
     * Whether {@link #start} can run a child now. False while the spawn helper is down and cannot
     * be restarted yet: a caller should claim no work meanwhile, or every job it takes would be
     * handed back {@link ChildResult.Outcome#LOST}.
     */
    default boolean ready() {
        return true;
    }

    /** The tree its children's cgroups are made in; null when they run without cgroups. */
    default CgroupTree cgroups() {
        return null;
    }

    /** How many children have started and not yet ended. */
    int runningCount();

    /** Which backend this is, for the log and the metrics. */
    String description();

    /**
     * Stops every child still running (SIGTERM to each group, the longest kill grace among them,
     * SIGKILL to what is left) and waits for them to end. Children started afterwards fail with
     * "launcher is closed".
     */
    @Override
    void close();
}
