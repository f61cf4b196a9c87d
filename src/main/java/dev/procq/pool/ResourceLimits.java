package dev.procq.pool;

import java.util.ArrayList;
import java.util.List;

/**
 * Kernel resource limits for one child, applied with util-linux {@code prlimit} wrapped around the
 * program. Every field is optional: {@code null} leaves the limit the worker itself has.
 *
 * <p>Limits are per process (the kernel has no per-group CPU or memory limit without cgroups):
 * every process of the child's tree gets them, but each counts its own usage.
 *
 * @param cpuSeconds CPU time in seconds; the child gets SIGXCPU when it uses them up
 * @param memoryBytes address space in bytes (RLIMIT_AS); allocations beyond it fail
 * @param openFiles open file descriptors (RLIMIT_NOFILE)
 * @param processes processes of the child's user (RLIMIT_NPROC); has no effect for root
 */
public record ResourceLimits(Long cpuSeconds, Long memoryBytes, Long openFiles, Long processes) {

    public static final ResourceLimits NONE = new ResourceLimits(null, null, null, null);

    public ResourceLimits {
        requirePositive("cpuSeconds", cpuSeconds);
        requirePositive("memoryBytes", memoryBytes);
        requirePositive("openFiles", openFiles);
        requirePositive("processes", processes);
    }

    public static ResourceLimits cpuSeconds(long seconds) {
        return NONE.withCpuSeconds(seconds);
    }

    public static ResourceLimits memoryBytes(long bytes) {
        return NONE.withMemoryBytes(bytes);
    }

    public ResourceLimits withCpuSeconds(Long seconds) {
        return new ResourceLimits(seconds, memoryBytes, openFiles, processes);
    }

    public ResourceLimits withMemoryBytes(Long bytes) {
        return new ResourceLimits(cpuSeconds, bytes, openFiles, processes);
    }

    public ResourceLimits withOpenFiles(Long files) {
        return new ResourceLimits(cpuSeconds, memoryBytes, files, processes);
    }

    public ResourceLimits withProcesses(Long count) {
        return new ResourceLimits(cpuSeconds, memoryBytes, openFiles, count);
    }

    public boolean isNone() {
        return cpuSeconds == null && memoryBytes == null && openFiles == null && processes == null;
    }

    /** The {@code prlimit} options that set these limits; empty when there are none. */
    List<String> prlimitOptions() {
        List<String> options = new ArrayList<>(4);
        if (cpuSeconds != null) {
            // A hard limit equal to the soft one would end the child with a bare SIGKILL; one
            // second more lets the kernel send SIGXCPU first, so the result can name the limit.
            options.add("--cpu=" + cpuSeconds + ":" + (cpuSeconds + 1));
        }
        if (memoryBytes != null) {
            options.add("--as=" + memoryBytes);
        }
        if (openFiles != null) {
            options.add("--nofile=" + openFiles);
        }
        if (processes != null) {
            options.add("--nproc=" + processes);
        }
        return options;
    }

    /** Linux resource numbers (the same on x86-64 and arm64) for {@link #kernelLimits()}. */
    static final int RLIMIT_CPU = 0;
    static final int RLIMIT_NPROC = 6;
    static final int RLIMIT_NOFILE = 7;
    static final int RLIMIT_AS = 9;

    /**
     * The same limits as setrlimit(2) takes them, for the spawn helper: each entry is
     * {resource, soft, hard}, chosen as {@link #prlimitOptions()} chooses them.
     */
    List<long[]> kernelLimits() {
        List<long[]> limits = new ArrayList<>(4);
        if (cpuSeconds != null) {
            limits.add(new long[] {RLIMIT_CPU, cpuSeconds, cpuSeconds + 1});
        }
        if (memoryBytes != null) {
            limits.add(new long[] {RLIMIT_AS, memoryBytes, memoryBytes});
        }
        if (openFiles != null) {
            limits.add(new long[] {RLIMIT_NOFILE, openFiles, openFiles});
        }
        if (processes != null) {
            limits.add(new long[] {RLIMIT_NPROC, processes, processes});
        }
        return limits;
    }

    private static void requirePositive(String name, Long value) {
        if (value != null && value <= 0) {
            throw new IllegalArgumentException(name + " must be positive when set, was " + value);
        }
    }
}
