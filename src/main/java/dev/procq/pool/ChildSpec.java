package dev.procq.pool;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything needed to run one child process.
 *
 * @param argv the program and its arguments, passed to the program as they are: no shell ever
 *     sees them. A program name without a slash is looked up in the {@code PATH} of
 *     {@code environment} (or {@link #DEFAULT_PATH} when it has none).
 * @param environment the whole environment of the child. Nothing of the worker's own environment
 *     is passed on: the worker holds database passwords.
 * @param workingDirectory where the child starts; {@code null} for the worker's own directory
 * @param timeout how long the child may run before it is ended; {@code null} for no limit
 * @param killGrace how long the child's process group has between SIGTERM and SIGKILL
 * @param tailBytes how many of the last bytes of output (stdout and stderr merged) to keep
 * @param limits kernel resource limits; {@link ResourceLimits#NONE} for none
 * @param runAs the user and group the program runs as, with no supplementary groups; {@code null}
 *     for the worker's own
 * @param cgroup the cgroup of its own the child runs in, where the launcher has a cgroup tree
 *     ({@link CgroupTree}); {@code null} for none
 */
public record ChildSpec(
        List<String> argv,
        Map<String, String> environment,
        Path workingDirectory,
        Duration timeout,
        Duration killGrace,
        int tailBytes,
        ResourceLimits limits,
        RunAs runAs,
        JobCgroup cgroup) {

    public static final String DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";
    public static final Duration DEFAULT_KILL_GRACE = Duration.ofSeconds(5);
    public static final int DEFAULT_TAIL_BYTES = 16 * 1024;

    public ChildSpec {
        argv = List.copyOf(argv);
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("argv must name a program");
        }
        environment = Map.copyOf(environment);
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new IllegalArgumentException("timeout must be positive when set, was " + timeout);
        }
        Objects.requireNonNull(killGrace, "killGrace");
        if (killGrace.isNegative()) {
            throw new IllegalArgumentException("killGrace must not be negative, was " + killGrace);
        }
        if (tailBytes < 0) {
            throw new IllegalArgumentException("tailBytes must not be negative, was " + tailBytes);
        }
        limits = limits == null ? ResourceLimits.NONE : limits;
    }

    /** A spec with no timeout, no limits, the default kill grace and output tail. */
    public static ChildSpec of(List<String> argv, Map<String, String> environment) {
        return new ChildSpec(argv, environment, null, null, DEFAULT_KILL_GRACE, DEFAULT_TAIL_BYTES,
                ResourceLimits.NONE, null, null);
    }

    public ChildSpec inDirectory(Path directory) {
        return new ChildSpec(argv, environment, directory, timeout, killGrace, tailBytes, limits, runAs, cgroup);
    }

    public ChildSpec withTimeout(Duration limit) {
        return new ChildSpec(argv, environment, workingDirectory, limit, killGrace, tailBytes,
                limits, runAs, cgroup);
    }

    public ChildSpec withKillGrace(Duration grace) {
        return new ChildSpec(argv, environment, workingDirectory, timeout, grace, tailBytes,
                limits, runAs, cgroup);
    }

    public ChildSpec withTailBytes(int bytes) {
        return new ChildSpec(argv, environment, workingDirectory, timeout, killGrace, bytes,
                limits, runAs, cgroup);
    }

    public ChildSpec asUser(RunAs user) {
        return new ChildSpec(argv, environment, workingDirectory, timeout, killGrace, tailBytes, limits,
                user, cgroup);
    }

    public ChildSpec inCgroup(JobCgroup jobCgroup) {
        return new ChildSpec(argv, environment, workingDirectory, timeout, killGrace, tailBytes, limits, runAs,
                jobCgroup);
    }

    public ChildSpec withLimits(ResourceLimits resourceLimits) {
        return new ChildSpec(argv, environment, workingDirectory, timeout, killGrace, tailBytes,
                resourceLimits, runAs, cgroup);
    }
}
