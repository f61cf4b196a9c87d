package dev.procq.worker;

import dev.procq.config.ConfigException;
import dev.procq.config.JobType;
import dev.procq.pool.Bubblewrap;
import dev.procq.pool.CgroupTree;
import dev.procq.pool.JobCgroup;
import dev.procq.pool.ChildLauncher;
import dev.procq.pool.ChildResult;
import dev.procq.pool.ChildSpec;
import dev.procq.pool.ResourceLimits;
import dev.procq.pool.RunningChild;
import dev.procq.store.AttemptResult;
import dev.procq.store.ClaimedJob;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Turns a claimed job into a running child: its argv, environment, limits and deadline. */
final class ChildStarter {
    /** Bytes of merged stdout/stderr kept per attempt. */
    static final int OUTPUT_TAIL_BYTES = 8 * 1024;
    private static final Logger log = LoggerFactory.getLogger(ChildStarter.class);

    /** Called once per job: with the child's result, or with a verdict made without one. */
    interface WhenEnded {
        void ended(HeldJob entry, JobType type, ChildResult result, AttemptResult verdict);
    }

    private final ChildLauncher launcher;
    private final Duration killGrace;
    private final Map<String, String> passedEnvironment;
    private final String runTag;
    private final Bubblewrap bubblewrap;
    private final ChildUsers users;

    /** @param runTag marks every process of this worker run (see {@link OrphanSweeper}) */
    /** @param hiddenInSandboxes procq's own files, covered in every sandbox (see {@link Bubblewrap}) */
    ChildStarter(ChildLauncher launcher, Duration killGrace, Map<String, String> passedEnvironment, String runTag,
            ChildUsers users, List<java.nio.file.Path> hiddenInSandboxes) {
        this.launcher = launcher;
        this.bubblewrap = new Bubblewrap(Bubblewrap.DEFAULT_PATH, hiddenInSandboxes);
        this.users = users;
        this.killGrace = killGrace;
        this.passedEnvironment = passedEnvironment;
        this.runTag = runTag;
    }

    void start(HeldJob entry, JobType type, WhenEnded whenEnded) {
        ClaimedJob job = entry.job;
        if (entry.stopCause == HeldJob.StopCause.SHUTDOWN) {
            whenEnded.ended(entry, type, null, Verdict.handedBack(job));
            return;
        }
        if (entry.pastDeadline()) {
            // The claim's reply came so late that the lease may be gone before the child could end.
            whenEnded.ended(entry, type, null, Verdict.tooLateToStart(job));
            return;
        }
        List<String> argv;
        try {
            argv = CommandTemplate.expand(type.command(), job.target(), job.meta());
        } catch (IllegalArgumentException e) {
            whenEnded.ended(entry, type, null, Verdict.unrunnable(job, e.getMessage()));
            return;
        }
        CgroupTree cgroups = launcher.cgroups();
        ChildSpec spec = new ChildSpec(argv, environment(type, job), type.workingDirectory(), type.timeout(),
                killGrace, OUTPUT_TAIL_BYTES, limits(type, cgroups), users.of(type), cgroup(job, type, cgroups));
        if (type.sandbox() != null) {
            try {
                spec = bubblewrap.wrap(spec, policy(type.sandbox()));
            } catch (IllegalArgumentException e) {
                // Fails closed: a program that cannot be resolved fails its job, never runs unsandboxed.
                whenEnded.ended(entry, type, null, Verdict.unrunnable(job, e.getMessage()));
                return;
            }
        }
        RunningChild child = launcher.start(spec);
        entry.started(child);
        child.result().whenComplete((result, error) -> {
            if (error != null) {
                log.error("child of job {} ended without a result", job.id(), error);
                whenEnded.ended(entry, type, null, Verdict.unrunnable(job, "internal error: " + error));
            } else {
                whenEnded.ended(entry, type, result, null);
            }
        });
    }

    private Map<String, String> environment(JobType type, ClaimedJob job) {
        Map<String, String> env = new HashMap<>();
        for (String name : type.passEnv()) {
            String value = passedEnvironment.get(name);
            if (value != null) env.put(name, value);
        }
        env.putAll(type.env());
        env.put("PROCQ_JOB_ID", Long.toString(job.id()));
        env.put("PROCQ_BATCH_ID", Long.toString(job.batchId()));
        env.put("PROCQ_ATTEMPT", Integer.toString(job.attempt()));
        // Marks every process of this worker run, so a restarted worker can find and end orphans.
        // No bare PROCQ_WORKER_ID: ids repeat across databases, and a sweep matching on one
        // (as earlier versions did) would take this child for another installation's orphan.
        env.put(OrphanSweeper.MARKER, runTag);
        return env;
    }

    static Bubblewrap.Policy policy(JobType.Sandbox sandbox) {
        return new Bubblewrap.Policy(sandbox.network(), sandbox.writable());
    }

    /**
     * Tries bubblewrap once for every sandboxed type, so a worker that cannot sandbox refuses to
     * start, naming the type and the problem, instead of failing each of its jobs.
     */
    static void requireSandboxes(Iterable<JobType> types) {
        Bubblewrap bubblewrap = new Bubblewrap(Bubblewrap.DEFAULT_PATH);
        for (JobType type : types) {
            if (type.sandbox() == null) continue;
            try {
                bubblewrap.probe(policy(type.sandbox()));
            } catch (IllegalStateException e) {
                throw new ConfigException("job type " + type.name() + " has a sandbox, but " + e.getMessage());
            }
        }
    }

    /**
     * The type's rlimits; a memoryMax the cgroup cannot enforce (no tree, or no memory controller)
     * becomes the address-space limit, unless the type gives one itself. pidsMax and cpuMax have
     * no rlimit that means the same (RLIMIT_NPROC counts all of the user's processes).
     */
    private static ResourceLimits limits(JobType type, CgroupTree cgroups) {
        JobType.Limits limits = type.limits();
        Long memory = limits.memoryBytes();
        if (memory == null && type.cgroup().memoryMax() != null && !offers(cgroups, "memory")) {
            memory = type.cgroup().memoryMax();
        }
        return new ResourceLimits(limits.cpuSeconds(), memory, limits.openFiles(), limits.processes());
    }

    /** The job's attempt gets a cgroup of its own, named after both, where the launcher has a tree. */
    private static JobCgroup cgroup(ClaimedJob job, JobType type, CgroupTree cgroups) {
        if (cgroups == null) return null;
        JobType.Cgroup limits = type.cgroup();
        return new JobCgroup("job-" + job.id() + "-" + job.attempt(), limits.memoryMax(), limits.pidsMax(),
                limits.cpuMaxPercent());
    }

    private static boolean offers(CgroupTree cgroups, String controller) {
        return cgroups != null && cgroups.controllers().contains(controller);
    }

    /**
     * Says once per type at start which of its cgroup limits cannot be enforced here, and what
     * applies instead.
     */
    static void reportCgroupLimits(Iterable<JobType> types, CgroupTree cgroups) {
        for (JobType type : types) {
            JobType.Cgroup limits = type.cgroup();
            List<String> missing = new java.util.ArrayList<>();
            if (limits.memoryMax() != null && !offers(cgroups, "memory")) missing.add("memoryMax (memory)");
            if (limits.pidsMax() != null && !offers(cgroups, "pids")) missing.add("pidsMax (pids)");
            if (limits.cpuMaxPercent() != null && !offers(cgroups, "cpu")) missing.add("cpuMax (cpu)");
            if (missing.isEmpty()) continue;
            String where = cgroups == null ? "children run without cgroups" : cgroups.root() + " offers no such controller";
            String instead = limits.memoryMax() != null && !offers(cgroups, "memory")
                    ? (type.limits().memoryBytes() == null ? "; memoryMax applies as the address-space rlimit"
                            : "; limits.memory applies") : "";
            log.warn("job type {}: {} not enforced: {}{}{}", type.name(), String.join(", ", missing), where, instead,
                    missing.stream().anyMatch(m -> !m.startsWith("memoryMax")) ? "; pidsMax and cpuMax have no rlimit fallback" : "");
        }
    }
}
