package dev.procq.store;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The states of a job and the one table of moves between them. The schema's CHECK
 * constraint holds the same names; docs/state-machine.md draws the same table.
 */
public enum JobState {
    PENDING, RUNNING, OK, FAILED, CANCELLED;

    private static final Map<JobState, Set<JobState>> ALLOWED = Map.of(
            PENDING, EnumSet.of(RUNNING, CANCELLED),
            // RUNNING -> PENDING: retry after a failed attempt, lease expiry, or hand-back at shutdown
            RUNNING, EnumSet.of(OK, FAILED, PENDING, CANCELLED),
            OK, EnumSet.noneOf(JobState.class),
            // FAILED -> PENDING only through an explicit batch retry
            FAILED, EnumSet.of(PENDING),
            CANCELLED, EnumSet.noneOf(JobState.class));

    public boolean isFinal() {
        return this == OK || this == FAILED || this == CANCELLED;
    }

    public boolean canMoveTo(JobState next) {
        return ALLOWED.get(this).contains(next);
    }

    public static Set<JobState> allowedFrom(JobState state) {
        return ALLOWED.get(state);
    }
}
