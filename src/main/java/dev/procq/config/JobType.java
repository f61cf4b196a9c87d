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
        FailureBudget halt) {

    public static final int DEFAULT_CONCURRENCY = 4;
    public static final int DEFAULT_MAX_ATTEMPTS = 1;
    public static final Duration DEFAULT_BACKOFF = Duration.ofSeconds(1);
    /** What a child sees when the type does not say otherwise: enough to find programs and speak UTF-8. */
    public static final List<String> DEFAULT_PASS_ENV = List.of("PATH", "LANG", "LC_ALL", "TZ");

    /** Resource limits per child (null: not limited). */
    public record Limits(Long cpuSeconds, Long memoryBytes, Long openFiles, Long processes) {
        public static final Limits NONE = new Limits(null, null, null, null);
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
