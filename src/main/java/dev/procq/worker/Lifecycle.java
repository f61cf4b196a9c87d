package dev.procq.worker;

import java.util.concurrent.atomic.AtomicReference;

/** Where a worker is in its life. The state only moves forward, whoever moves it. */
final class Lifecycle {
    enum State {
        /** Waiting for the database to register. */
        STARTING,
        /** Claiming and running jobs. */
        RUNNING,
        /** Claiming nothing more; children finish and their results are written. */
        STOPPING,
        /** Every child has ended: the claim loop writes what is left and returns. */
        FINISHING,
        /** The database stayed away through shutdown: the results still held are given up. */
        ABANDONED,
        STOPPED
    }

    private final AtomicReference<State> state = new AtomicReference<>(State.STARTING);

    State get() {
        return state.get();
    }

    /** Moves to {@code next} unless the worker is there or further already; true if it moved. */
    boolean advance(State next) {
        while (true) {
            State now = state.get();
            if (now.compareTo(next) >= 0) return false;
            if (state.compareAndSet(now, next)) return true;
        }
    }

    /** A stop was asked for: nothing more is claimed. */
    boolean stopping() {
        return get().compareTo(State.STOPPING) >= 0;
    }

    /** The claim loop is done once every result is written, or given up. */
    boolean claimLoopDone(boolean resultsLeft) {
        State now = get();
        return now.compareTo(State.ABANDONED) >= 0 || (now == State.FINISHING && !resultsLeft);
    }
}
