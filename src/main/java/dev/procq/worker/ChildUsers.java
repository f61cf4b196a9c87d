package dev.procq.worker;

import dev.procq.config.ConfigException;
import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import dev.procq.pool.RunAs;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The users the job types' children run as, resolved once when the worker starts: a name that
 * does not exist, or a worker that could not switch to it, stops start-up naming the type, rather
 * than failing every one of its jobs.
 */
final class ChildUsers {
    private final Map<String, RunAs> byType;

    private ChildUsers(Map<String, RunAs> byType) {
        this.byType = Map.copyOf(byType);
    }

    static ChildUsers resolve(JobTypes types) {
        Map<String, RunAs> byType = new HashMap<>();
        for (JobType type : types.all()) {
            if (type.user() == null) continue;
            try {
                byType.put(type.name(), RunAs.lookUp(type.user(), type.group()));
            } catch (IllegalArgumentException | IllegalStateException e) {
                throw new ConfigException("job type " + type.name() + ": user " + type.user()
                        + (type.group() == null ? "" : ", group " + type.group()) + ": " + e.getMessage());
            }
        }
        if (!byType.isEmpty()) {
            Optional<String> why = RunAs.whyUsersCannotChange();
            if (why.isPresent()) {
                throw new ConfigException("job types " + byType.keySet() + " run as another user, but " + why.get()
                        + "; or remove 'user:' from them");
            }
        }
        return new ChildUsers(byType);
    }

    /** The user a type's children run as; null for the worker's own. */
    RunAs of(JobType type) {
        return byType.get(type.name());
    }

    boolean any() {
        return !byType.isEmpty();
    }

    @Override
    public String toString() {
        return byType.toString();
    }
}
