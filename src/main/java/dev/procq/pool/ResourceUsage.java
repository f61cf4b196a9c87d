package dev.procq.pool;

/**
 * What one child cost the host, as the kernel counted it when the child was reaped ({@code wait4}'s
 * rusage): the child's own CPU time and that of the descendants it waited for, and its peak
 * resident memory.
 *
 * @param cpuUserMicros CPU time in user mode, microseconds
 * @param cpuSystemMicros CPU time in the kernel on its behalf, microseconds
 * @param maxRssKb peak resident set size, kilobytes
 */
public record ResourceUsage(long cpuUserMicros, long cpuSystemMicros, long maxRssKb) {

    public ResourceUsage {
        if (cpuUserMicros < 0 || cpuSystemMicros < 0 || maxRssKb < 0) {
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
