package dev.procq.pool;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A writable cgroup v2 subtree the worker was given: each child runs in a cgroup of its own under
 * {@link #root()}, made by the spawn helper, so a stop reaches every process of the job
 * ({@code cgroup.kill}, even past a {@code setsid}), and the attempt records the whole tree's CPU
 * ({@code cpu.stat}), its peak memory ({@code memory.peak}) and OOM kills ({@code memory.events}).
 *
 * <p>Where the root offers the memory, pids or cpu controller, it is enabled for the children
 * ({@code cgroup.subtree_control}). A cgroup with controllers enabled for its children may hold no
 * processes itself, so a worker that lives in the root (systemd's {@code Delegate=yes} puts it
 * there) first moves itself into the leaf {@code <root>/worker}; its spawn helper, started after,
 * lives there too.
 */
public final class CgroupTree {
    /** {@code PROCQ_CGROUP_ROOT}: the worker's own cgroup when it is a delegated subtree. */
    public static final String AUTO = "auto";
    public static final String OFF = "off";
    /** Where the worker moves itself so the root may enable controllers for its children. */
    static final String WORKER_LEAF = "worker";
    /** The controllers whose limits a job type may set, in the order they are reported. */
    static final List<String> LIMIT_CONTROLLERS = List.of("memory", "pids", "cpu");

    private final Path root;
    private final Set<String> controllers;
    private final String notes;

    private CgroupTree(Path root, Set<String> controllers, String notes) {
        this.root = root;
        this.controllers = Set.copyOf(controllers);
        this.notes = notes;
    }

    /** Why the worker runs its children without cgroups; the message says why, in one line. */
    public static final class Unavailable extends Exception {
        Unavailable(String why) {
            super(why);
        }
    }

    public Path root() {
        return root;
    }

    /** Which of memory, pids and cpu the job cgroups have: their limits can be written. */
    public Set<String> controllers() {
        return controllers;
    }

    Path pathOf(JobCgroup cgroup) {
        return root.resolve(cgroup.name());
    }

    /** For the worker's start-up line. */
    public String describe() {
        String limits = controllers.isEmpty() ? "no memory, pids or cpu controller, so no cgroup limits"
                : "controllers " + String.join(", ", new TreeSet<>(controllers));
        return "each child runs in a cgroup of its own under " + root + " (" + limits + notes + ")";
    }

    /**
     * The subtree {@code setting} names: {@link #AUTO} (the worker's own cgroup, from
     * /proc/self/cgroup under the cgroup2 mount of /proc/self/mountinfo), {@link #OFF}, or a
     * directory in a cgroup2 file system (made if missing and its parent is a cgroup).
     *
     * @throws Unavailable when there is no writable subtree, saying why
     */
    public static CgroupTree open(String setting) throws Unavailable {
        String value = setting == null || setting.isBlank() ? AUTO : setting.trim();
        if (value.toLowerCase(Locale.ROOT).equals(OFF)) {
            throw new Unavailable("PROCQ_CGROUP_ROOT=off");
        }
        List<Path> mounts = cgroup2Mounts();
        boolean auto = value.toLowerCase(Locale.ROOT).equals(AUTO);
        Path root;
        if (auto) {
            if (mounts.isEmpty()) throw new Unavailable("no cgroup2 file system is mounted");
            String own = ownCgroup().orElseThrow(() -> new Unavailable("/proc/self/cgroup has no cgroup v2 (0::) line"));
            root = mounts.get(0).resolve(own.substring(1)).normalize();
            if (!Files.exists(root.resolve("cgroup.kill"))) {
                throw new Unavailable("the worker runs in " + root + ", the root of the cgroup hierarchy, which is no"
                        + " delegated subtree (run it with systemd's Delegate=yes, see examples/systemd, or set"
                        + " PROCQ_CGROUP_ROOT)");
            }
        } else {
            root = Path.of(value);
            if (!root.isAbsolute()) throw new Unavailable("PROCQ_CGROUP_ROOT=" + value + " is not an absolute path");
            root = root.normalize();
            Path at = root;
            if (mounts.stream().noneMatch(at::startsWith)) {
                throw new Unavailable("PROCQ_CGROUP_ROOT=" + value + " is not in a cgroup2 file system"
                        + (mounts.isEmpty() ? " (none is mounted)" : " (mounted at " + mounts + ")"));
            }
            if (!Files.isDirectory(root)) {
                try {
                    Files.createDirectory(root);
                } catch (IOException e) {
                    throw new Unavailable("PROCQ_CGROUP_ROOT=" + value + " does not exist and cannot be made: " + e);
                }
            }
            if (!Files.exists(root.resolve("cgroup.procs"))) {
                throw new Unavailable("PROCQ_CGROUP_ROOT=" + value + " is not a cgroup directory");
            }
        }
        probe(root);
        return enableControllers(root);
    }

    /** Makes and removes one cgroup: the only sure test that children can be placed here. */
    private static void probe(Path root) throws Unavailable {
        Path probe = root.resolve("procq-probe-" + ProcessHandle.current().pid());
        try {
            Files.createDirectory(probe);
        } catch (IOException e) {
            throw new Unavailable("cannot make a cgroup in " + root + ": " + e);
        }
        boolean killable = Files.exists(probe.resolve("cgroup.kill"));
        try {
            Files.delete(probe);
        } catch (IOException e) {
            throw new Unavailable("cannot remove the cgroup " + probe + " it just made: " + e);
        }
        if (!killable) throw new Unavailable("the kernel has no cgroup.kill (Linux 5.14 or later has)");
    }

    private static CgroupTree enableControllers(Path root) throws Unavailable {
        Set<String> offered = words(root.resolve("cgroup.controllers"));
        Set<String> enabled = words(root.resolve("cgroup.subtree_control"));
        List<String> wanted = new ArrayList<>();
        for (String controller : LIMIT_CONTROLLERS) {
            if (offered.contains(controller) && !enabled.contains(controller)) wanted.add(controller);
        }
        String notes = "";
        if (!wanted.isEmpty()) {
            Set<String> inRoot = words(root.resolve("cgroup.procs"));
            String self = Long.toString(ProcessHandle.current().pid());
            if (inRoot.equals(Set.of(self))) {
                moveInto(root.resolve(WORKER_LEAF), self);
                inRoot = Set.of();
            }
            if (!inRoot.isEmpty()) {
                notes = "; " + String.join(", ", wanted) + " not enabled: processes other than the worker live in " + root;
            } else {
                for (String controller : wanted) {
                    try {
                        Files.writeString(root.resolve("cgroup.subtree_control"), "+" + controller,
                                StandardOpenOption.WRITE);
                    } catch (IOException e) {
                        notes += "; " + controller + " not enabled: " + e.getMessage();
                    }
                }
                enabled = words(root.resolve("cgroup.subtree_control"));
            }
        }
        Set<String> usable = new LinkedHashSet<>();
        for (String controller : LIMIT_CONTROLLERS) {
            if (enabled.contains(controller)) usable.add(controller);
        }
        return new CgroupTree(root, usable, notes);
    }

    private static void moveInto(Path leaf, String pid) throws Unavailable {
        try {
            if (!Files.isDirectory(leaf)) Files.createDirectory(leaf);
            Files.writeString(leaf.resolve("cgroup.procs"), pid, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new Unavailable("cannot move the worker into " + leaf + ": " + e);
        }
    }

    /**
     * Ends what is left in a job's cgroup and removes it, for a child whose spawn helper died
     * before it could. Returns whether the cgroup is gone.
     */
    boolean remove(JobCgroup cgroup, java.time.Duration wait) {
        Path path = pathOf(cgroup);
        if (!Files.isDirectory(path)) return true;
        try {
            Files.writeString(path.resolve("cgroup.kill"), "1", StandardOpenOption.WRITE);
        } catch (IOException e) {
            return false;
        }
        long until = System.nanoTime() + wait.toNanos();
        while (true) {
            try {
                Files.delete(path);
                return true;
            } catch (IOException busy) {
                if (System.nanoTime() - until > 0) return false;
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
    }

    /** Mount points of cgroup2 file systems, from /proc/self/mountinfo. */
    static List<Path> cgroup2Mounts() {
        List<Path> mounts = new ArrayList<>();
        for (String line : lines(Path.of("/proc/self/mountinfo"))) {
            // "id parent major:minor root mountpoint options ... - fstype source superoptions"
            int separator = line.indexOf(" - ");
            if (separator < 0) continue;
            String[] before = line.substring(0, separator).split(" ");
            String[] after = line.substring(separator + 3).split(" ");
            if (before.length >= 5 && after.length >= 1 && after[0].equals("cgroup2")) {
                mounts.add(Path.of(before[4].replace("\\040", " ")));
            }
        }
        return mounts;
    }

    /** The worker's own cgroup v2 path ("/system.slice/procq-worker.service"). */
    static Optional<String> ownCgroup() {
        return lines(Path.of("/proc/self/cgroup")).stream()
                .filter(line -> line.startsWith("0::"))
                .map(line -> line.substring(3))
                .findFirst();
    }

    private static Set<String> words(Path file) {
        Set<String> words = new LinkedHashSet<>();
        for (String line : lines(file)) {
            words.addAll(Arrays.asList(line.trim().split("\\s+")));
        }
        words.remove("");
        return words;
    }

    private static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            return List.of();
        }
    }
}
