package dev.procq.pool;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The cgroup of its own one child runs in, and its limits. Each limit is written only where the
 * cgroup tree offers its controller ({@link CgroupTree#controllers()}); {@code null} leaves it
 * unlimited.
 *
 * @param name the cgroup's directory name under the tree's root, e.g. {@code job-42-1}
 * @param memoryMaxBytes {@code memory.max}: past it the kernel reclaims, then OOM-kills inside the
 *     cgroup only
 * @param pidsMax {@code pids.max}: a fork beyond it fails with EAGAIN
 * @param cpuMaxPercent {@code cpu.max} as a percentage of one CPU (200 = two CPUs), over a period of
 *     100 ms
 */
public record JobCgroup(String name, Long memoryMaxBytes, Long pidsMax, Integer cpuMaxPercent) {
    /** cpu.max's period, microseconds: the kernel's default. */
    static final long CPU_PERIOD_MICROS = 100_000;
    private static final Pattern NAME = Pattern.compile("^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$");

    public JobCgroup {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("not a cgroup name: " + name);
        }
        if (memoryMaxBytes != null && memoryMaxBytes <= 0 || pidsMax != null && pidsMax <= 0
                || cpuMaxPercent != null && cpuMaxPercent <= 0) {
            throw new IllegalArgumentException("cgroup limits must be positive: " + this);
        }
    }

    /** The controller each limit needs, as {@code cgroup.controllers} names it. */
    static String controllerOf(String file) {
        return file.substring(0, file.indexOf('.'));
    }

    /** The limit files to write, {file, value}, of those whose controller is in {@code controllers}. */
    List<String[]> files(Set<String> controllers) {
        List<String[]> files = new ArrayList<>(3);
        if (memoryMaxBytes != null && controllers.contains("memory")) {
            files.add(new String[] {"memory.max", Long.toString(memoryMaxBytes)});
        }
        if (pidsMax != null && controllers.contains("pids")) {
            files.add(new String[] {"pids.max", Long.toString(pidsMax)});
        }
        if (cpuMaxPercent != null && controllers.contains("cpu")) {
            long quota = CPU_PERIOD_MICROS * cpuMaxPercent / 100;
            files.add(new String[] {"cpu.max", quota + " " + CPU_PERIOD_MICROS});
        }
        return files;
    }
}
