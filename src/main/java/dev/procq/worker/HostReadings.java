package dev.procq.worker;

import dev.procq.config.ConfigException;
import dev.procq.config.HostLimits;
import dev.procq.config.HostLimits.Pressure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Reads what the host has left from /proc: MemAvailable (the kernel's estimate of what can be
 * allocated without swapping, page cache it can drop included), lowered to the room left under
 * the memory limit of the worker's own cgroup or an ancestor's (a container's limit), the
 * 1-minute load average, and PSI's avg10 of "some" for each resource asked for. Only the files
 * a limit needs are read: three small ones per sample.
 */
final class HostReadings {
    /** A cgroup "limit" this large is no limit (cgroup v1 writes 2^63 rounded down to a page). */
    private static final long NO_LIMIT = 1L << 60;
    private static final Path PROC = Path.of("/proc");
    private static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");

    /** One reading; a value not asked for is absent (memory) or NaN. */
    record Sample(OptionalLong memoryAvailable, double load1, Map<Pressure, Double> pressure) {
    }

    /** A memory cgroup that limits this worker: its limit, its usage, and the stat file with the page cache it may drop. */
    private record CgroupLimit(Path limit, Path usage, Path stat, String inactiveFileKey) {
    }

    private final boolean memory;
    private final boolean load;
    private final List<Pressure> pressure;
    private final List<CgroupLimit> cgroupLimits;

    HostReadings(HostLimits limits) {
        this.memory = limits.memfree().isPresent();
        this.load = limits.maxLoad().isPresent();
        this.pressure = List.copyOf(limits.maxPressure().keySet());
        for (Pressure resource : pressure) {
            if (!Files.isReadable(pressureFile(resource))) {
                throw new ConfigException(HostLimits.MAX_PRESSURE + " names " + resource.key() + ", but this kernel has no "
                        + pressureFile(resource) + " (PSI needs Linux 4.20 or later, built with CONFIG_PSI and not"
                        + " booted with psi=0); use " + HostLimits.MAX_LOAD + " instead");
            }
        }
        this.cgroupLimits = memory ? cgroupLimits() : List.of();
    }

    Sample read() {
        OptionalLong available = memory ? OptionalLong.of(memoryAvailable()) : OptionalLong.empty();
        double load1 = load ? Double.parseDouble(firstField(read(PROC.resolve("loadavg")))) : Double.NaN;
        Map<Pressure, Double> pressures = new EnumMap<>(Pressure.class);
        for (Pressure resource : pressure) pressures.put(resource, someAvg10(read(pressureFile(resource))));
        return new Sample(available, load1, pressures);
    }

    /** Cgroups that limit memory, for the log at start: empty when only the host's memory counts. */
    List<Path> memoryLimitsFrom() {
        return cgroupLimits.stream().map(CgroupLimit::limit).toList();
    }

    private long memoryAvailable() {
        long available = meminfo("MemAvailable");
        for (CgroupLimit cgroup : cgroupLimits) {
            long limit = number(read(cgroup.limit()));
            if (limit >= NO_LIMIT) continue;
            // The working set, as the kubelet counts it: usage less the page cache the kernel may drop.
            long used = number(read(cgroup.usage())) - statValue(read(cgroup.stat()), cgroup.inactiveFileKey());
            available = Math.min(available, Math.max(0, limit - used));
        }
        return available;
    }

    private static long meminfo(String key) {
        for (String line : read(PROC.resolve("meminfo")).split("\n")) {
            if (line.startsWith(key + ":")) {
                return Long.parseLong(line.substring(key.length() + 1).trim().split("\\s+")[0]) * 1024;
            }
        }
        throw new IllegalStateException("/proc/meminfo has no " + key + " (Linux 3.14 or later has it)");
    }

    /**
     * The memory cgroups of this process and their ancestors that have a limit file, cgroup v2
     * ({@code 0::/path}) and v1 ({@code N:memory:/path}). Inside a container the namespace's root
     * is the container's own cgroup; a path that is not there (a v1 path seen from outside its
     * namespace) leaves the mount's root.
     */
    private static List<CgroupLimit> cgroupLimits() {
        List<CgroupLimit> found = new ArrayList<>();
        String own;
        try {
            own = Files.readString(PROC.resolve("self/cgroup"));
        } catch (IOException e) {
            return found;
        }
        for (String line : own.split("\n")) {
            String[] parts = line.split(":", 3);
            if (parts.length != 3) continue;
            if (parts[0].equals("0") && parts[1].isEmpty()) {
                Path mount = Files.exists(CGROUP_ROOT.resolve("cgroup.controllers")) ? CGROUP_ROOT : CGROUP_ROOT.resolve("unified");
                addAncestors(found, mount, parts[2], "memory.max", "memory.current", "inactive_file");
            } else if (List.of(parts[1].split(",")).contains("memory")) {
                addAncestors(found, CGROUP_ROOT.resolve("memory"), parts[2], "memory.limit_in_bytes",
                        "memory.usage_in_bytes", "total_inactive_file");
            }
        }
        return found;
    }

    private static void addAncestors(List<CgroupLimit> found, Path mount, String own, String limit, String usage,
                                     String inactiveFileKey) {
        Path dir = mount.resolve(own.replaceFirst("^/+", "")).normalize();
        while (dir != null && dir.startsWith(mount)) {
            if (Files.isReadable(dir.resolve(limit)) && Files.isReadable(dir.resolve(usage))) {
                found.add(new CgroupLimit(dir.resolve(limit), dir.resolve(usage), dir.resolve("memory.stat"), inactiveFileKey));
            }
            dir = dir.getParent();
        }
    }

    private static Path pressureFile(Pressure resource) {
        return PROC.resolve("pressure").resolve(resource.key());
    }

    /** avg10 of the "some" line: {@code some avg10=0.14 avg60=2.55 avg300=10.48 total=107841049}. */
    private static double someAvg10(String text) {
        for (String field : text.split("\n")[0].split(" ")) {
            if (field.startsWith("avg10=")) return Double.parseDouble(field.substring("avg10=".length()));
        }
        throw new IllegalStateException("no avg10 in: " + text);
    }

    private static long statValue(String stat, String key) {
        for (String line : stat.split("\n")) {
            if (line.startsWith(key + " ")) return Long.parseLong(line.substring(key.length() + 1).trim());
        }
        return 0;
    }

    private static long number(String text) {
        String value = text.trim();
        return value.equals("max") ? Long.MAX_VALUE : Long.parseLong(value);
    }

    private static String firstField(String text) {
        return text.trim().split("\\s+")[0];
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
