package dev.procq.pool;

/**
 * What one child cost the host. Without a cgroup, as the kernel counted it when the child was
 * reaped ({@code wait4}'s rusage): the child's own CPU time and that of the descendants it waited
 * for. With a cgroup of its own, the CPU time is its {@code cpu.stat}: every process that ran in it,
 * waited for or not.
 *
 * @param cpuUserMicros CPU time in user mode, microseconds
 * @param cpuSystemMicros CPU time in the kernel on its behalf, microseconds
 * @param maxRssKb peak resident set size of the child itself, kilobytes (wait4)
 * @param memoryPeakBytes the cgroup's {@code memory.peak}, the whole tree's; null without a cgroup
 *     or the memory controller
 * @param oomKills processes of the cgroup the kernel's OOM killer ended ({@code memory.events}
 *     {@code oom_kill}); 0 without a cgroup
 */
public record ResourceUsage(long cpuUserMicros, long cpuSystemMicros, long maxRssKb, Long memoryPeakBytes,
        long oomKills) {

    /** Usage as wait4 reports it, without a cgroup. */
    public ResourceUsage(long cpuUserMicros, long cpuSystemMicros, long maxRssKb) {
        this(cpuUserMicros, cpuSystemMicros, maxRssKb, null, 0);
    }

    public ResourceUsage {
        if (cpuUserMicros < 0 || cpuSystemMicros < 0 || maxRssKb < 0 || oomKills < 0
                || memoryPeakBytes != null && memoryPeakBytes < 0) {
            throw new IllegalArgumentException("resource usage must not be negative: user "
                    + cpuUserMicros + " us, system " + cpuSystemMicros + " us, rss " + maxRssKb
                    + " kB");
        }
    }

    public long cpuUserMillis() {
        return cpuUserMicros / 1000;
    }

    public long cpuSystemMillis() {
        return cpuSystemMicros / 1000;
    }
}
