package dev.procq.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One job type from the job-types file: what the operator allows to run, and how.
 *
 * @param command          argv template; {@code {target}} and {@code {meta.NAME}} are replaced inside elements
 * @param concurrency      start-up value for procq.job_type.concurrency (the table wins afterwards)
 * @param timeout          the whole process tree is stopped past this; null for none
 * @param maxAttempts      attempts before FAILED
 * @param backoff          delay before the first retry, doubled for each further one, with jitter
 * @param targetPattern    intake refuses targets that do not match (find, not full match, so anchor it)
 * @param allowDashTargets whether a target may start with '-' (it could be read as an option)
 * @param env              fixed variables for the child
 * @param passEnv          variables passed through from the worker's own environment, by name
 * @param workingDirectory the child's working directory; null for the worker's
 * @param limits           resource limits applied to the child
 * @param exitCodes        which exit codes are OK, fail at once or retry (the file's; procq.job_type may override)
 * @param sandbox          run the program inside bubblewrap with this policy; null for no sandbox
 * @param user             the user (name or uid) the child runs as; null for the worker's own
 * @param group            the child's group (name or gid); null for the user's primary group. Either
 *                         way the child has no supplementary groups
 * @param halt             the failure budget each batch gets unless its submission gives one
 * @param globalConcurrency start-up value for procq.job_type.global_concurrency: most children of
 *                         the type across all workers; null for no cluster-wide limit
 * @param key              how a job's key (e.g. the host of a URL) is taken from its target at
 *                         intake; null for none
 * @param keyConcurrency   start-up value for procq.job_type.key_concurrency: most running per key
 *                         across all workers; null for none
 * @param keyRate          start-up value for procq.job_type.key_rate: most starts per second per
 *                         key across all workers; null for none
 * @param rate             start-up value for procq.job_type.rate: most starts per second of the
 *                         type across all workers; null for none
 * @param cgroup           limits of each child's own cgroup, where the worker has a cgroup subtree
 *                         (PROCQ_CGROUP_ROOT); {@link Cgroup#NONE} for none
 */
public record JobType(
        String name,
        List<String> command,
        int concurrency,
        Duration timeout,
        int maxAttempts,
        Duration backoff,
        Pattern targetPattern,
        boolean allowDashTargets,
        Map<String, String> env,
        List<String> passEnv,
        Path workingDirectory,
        Limits limits,
        ExitCodeRules exitCodes,
        Sandbox sandbox,
        String user,
        String group,
        FailureBudget halt,
        Integer globalConcurrency,
        Key key,
        Integer keyConcurrency,
        Double keyRate,
        Double rate,
        Cgroup cgroup) {

    public static final int DEFAULT_CONCURRENCY = 4;
    public static final int DEFAULT_MAX_ATTEMPTS = 1;
    public static final Duration DEFAULT_BACKOFF = Duration.ofSeconds(1);
    /** What a child sees when the type does not say otherwise: enough to find programs and speak UTF-8. */
    public static final List<String> DEFAULT_PASS_ENV = List.of("PATH", "LANG", "LC_ALL", "TZ");

    /**
     * Where a job's key comes from: the one capture group of {@code regex} found in the target,
     * or the value {@code metaName} in the job's meta. No match, or an empty one, gives no key
     * (the job is then held by no per-key limit).
     */
    public record Key(Pattern regex, String metaName) {
        /** The key of a target, or null; {@code meta} is the job's meta (null when it has none). */
        public String of(String target, Map<String, ?> meta) {
            String key;
            if (regex != null) {
                java.util.regex.Matcher matcher = regex.matcher(target);
                key = matcher.find() ? matcher.group(1) : null;
            } else {
                Object value = meta == null ? null : meta.get(metaName);
                key = value == null ? null : value.toString();
            }
            return key == null || key.isEmpty() ? null : key;
        }

        /** As the job-types file says it, for the API. */
        public String describe() {
            return regex != null ? "regex " + regex.pattern() : "{meta." + metaName + "}";
        }
    }

    /** Resource limits per child (null: not limited). */
    public record Limits(Long cpuSeconds, Long memoryBytes, Long openFiles, Long processes) {
        public static final Limits NONE = new Limits(null, null, null, null);
    }

    /**
     * Limits of a child's own cgroup (null: not limited): {@code memory.max} in bytes,
     * {@code pids.max}, and {@code cpu.max} as a percentage of one CPU (200: two CPUs).
     */
    public record Cgroup(Long memoryMax, Long pidsMax, Integer cpuMaxPercent) {
        public static final Cgroup NONE = new Cgroup(null, null, null);

        public boolean isNone() {
            return memoryMax == null && pidsMax == null && cpuMaxPercent == null;
        }
    }

    /**
     * What a sandboxed child may reach: a read-only view of the host with its own /tmp, /proc,
     * /dev and PID namespace, no network unless {@code network}, and only {@code writable}
     * (absolute, normalised directories) writable.
     */
    public record Sandbox(boolean network, List<Path> writable) {
        public Sandbox {
            writable = List.copyOf(writable);
        }
    }
}
