package dev.procq.worker;

import dev.procq.config.ConfigException;
import dev.procq.config.ExitCodeRules;
import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import dev.procq.store.JobTypeDao;
import dev.procq.store.JobTypeRow;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Concurrency, pause, exit-code rules and cluster-wide limits per type as procq.job_type says
 * now: an operator's UPDATE reaches every worker within {@link #REFRESH_INTERVAL}, with no
 * restart. (The cluster-wide limits need no refresh to hold: the claim statement reads them from
 * the table each time; they are read here to be shown.)
 */
final class LiveTypes {
    static final Duration REFRESH_INTERVAL = Duration.ofSeconds(2);
    private static final Logger log = LoggerFactory.getLogger(LiveTypes.class);

    private final Jdbi jdbi;
    private final JobTypes types;
    private volatile Map<String, JobTypeRow> rows = Map.of();
    /** The rules of the types whose row overrides the file's, parsed when the row was read. */
    private volatile Map<String, ExitCodeRules> exitCodes = Map.of();
    private long refreshedAtNanos;
    private boolean seeded;

    LiveTypes(Jdbi jdbi, JobTypes types) {
        this.jdbi = jdbi;
        this.types = types;
    }

    /** Seeds missing rows from the file, then reads the table; cheap to call often. */
    void refreshIfDue() {
        long now = System.nanoTime();
        if (seeded && now - refreshedAtNanos < REFRESH_INTERVAL.toNanos()) return;
        refresh();
    }

    void refresh() {
        Map<String, JobTypeRow> fresh = new HashMap<>();
        jdbi.useExtension(JobTypeDao.class, dao -> {
            if (!seeded) {
                for (JobType type : types.all()) dao.insertIfMissing(type);
            }
            for (JobTypeRow row : dao.list()) fresh.put(row.name(), row);
        });
        Map<String, JobTypeRow> previous = rows;
        for (JobTypeRow row : fresh.values()) {
            JobTypeRow before = previous.get(row.name());
            if (before != null && (before.concurrency() != row.concurrency() || before.paused() != row.paused()
                    || !java.util.Objects.equals(before.globalConcurrency(), row.globalConcurrency())
                    || !java.util.Objects.equals(before.keyConcurrency(), row.keyConcurrency())
                    || !java.util.Objects.equals(before.keyRate(), row.keyRate())
                    || !java.util.Objects.equals(before.rate(), row.rate()))
                    && types.find(row.name()).isPresent()) {
                log.info("job type {} now concurrency={} paused={} globalConcurrency={} keyConcurrency={} keyRate={} rate={}",
                        row.name(), row.concurrency(), row.paused(), orNone(row.globalConcurrency()),
                        orNone(row.keyConcurrency()), orNone(row.keyRate()), orNone(row.rate()));
            }
        }
        exitCodes = parseExitCodes(fresh.values(), previous);
        rows = fresh;
        seeded = true;
        refreshedAtNanos = System.nanoTime();
    }

    private Map<String, ExitCodeRules> parseExitCodes(Collection<JobTypeRow> fresh, Map<String, JobTypeRow> previous) {
        Map<String, ExitCodeRules> parsed = new HashMap<>();
        for (JobTypeRow row : fresh) {
            if (row.exitCodes() == null || types.find(row.name()).isEmpty()) continue;
            JobTypeRow before = previous.get(row.name());
            boolean changed = before == null || !row.exitCodes().equals(before.exitCodes());
            try {
                parsed.put(row.name(), ExitCodeRules.parseJson(row.exitCodes(), "procq.job_type.exit_codes of type " + row.name()));
                if (changed) log.info("job type {} now exit codes {} (from procq.job_type)", row.name(), row.exitCodes());
            } catch (ConfigException e) {
                // An operator's typo must not stop the worker or leave the type without rules:
                // the file's rules go on applying until the row is fixed (or set to NULL).
                if (changed) log.error("{}; the job-types file's rules apply instead", e.getMessage());
            }
        }
        return Map.copyOf(parsed);
    }

    /** The type's exit-code rules: procq.job_type's when it sets valid ones, else the file's. */
    ExitCodeRules exitCodes(JobType type) {
        ExitCodeRules live = exitCodes.get(type.name());
        return live != null ? live : type.exitCodes();
    }

    /** The type's current limit per worker, or 0 while paused. */
    int limit(JobType type) {
        JobTypeRow row = rows.get(type.name());
        if (row == null) return type.concurrency();
        return row.paused() ? 0 : row.concurrency();
    }

    /** The type's concurrency per worker as last read (the file's value before the first read). */
    int concurrency(String name) {
        JobTypeRow row = rows.get(name);
        if (row != null) return row.concurrency();
        return types.find(name).map(JobType::concurrency).orElse(0);
    }

    /**
     * The type's most children across all workers as last read (the file's before the first read);
     * empty for none. Only shown: the claim statement reads the table's value itself.
     */
    Optional<Integer> globalConcurrency(String name) {
        JobTypeRow row = rows.get(name);
        if (row != null) return Optional.ofNullable(row.globalConcurrency());
        return types.find(name).map(JobType::globalConcurrency);
    }

    /** The type's cluster-wide limits as last read (the file's before the first read); only shown, like globalConcurrency. */
    Optional<Integer> keyConcurrency(String name) {
        JobTypeRow row = rows.get(name);
        if (row != null) return Optional.ofNullable(row.keyConcurrency());
        return types.find(name).map(JobType::keyConcurrency);
    }

    Optional<Double> keyRate(String name) {
        JobTypeRow row = rows.get(name);
        if (row != null) return Optional.ofNullable(row.keyRate());
        return types.find(name).map(JobType::keyRate);
    }

    Optional<Double> rate(String name) {
        JobTypeRow row = rows.get(name);
        if (row != null) return Optional.ofNullable(row.rate());
        return types.find(name).map(JobType::rate);
    }

    private static Object orNone(Object limit) {
        return limit == null ? "none" : limit;
    }

    boolean paused(String name) {
        JobTypeRow row = rows.get(name);
        return row != null && row.paused();
    }

    Collection<JobType> types() {
        return types.all();
    }
}
