package dev.procq.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.function.Function;

/**
 * When a worker starts no child (GNU parallel's {@code --memfree} and {@code --load}): while the
 * host's available memory is below {@code memfree}, its 1-minute load average above {@code
 * maxLoad}, or a PSI pressure (avg10, percent) above its ceiling. Below {@code memfreeKill} the
 * worker also stops its youngest child and hands its job back. All off by default.
 */
public record HostLimits(OptionalLong memfree, OptionalLong memfreeKill, OptionalDouble maxLoad,
                         Map<Pressure, Double> maxPressure) {
    public static final String MEMFREE = "PROCQ_WORKER_MEMFREE";
    public static final String MEMFREE_KILL = "PROCQ_WORKER_MEMFREE_KILL";
    public static final String MAX_LOAD = "PROCQ_WORKER_MAX_LOAD";
    public static final String MAX_PRESSURE = "PROCQ_WORKER_MAX_PRESSURE";
    /** A larger load ceiling is a typo; hosts with that many runnable tasks have other troubles. */
    public static final double LOAD_LIMIT = 100_000;
    public static final HostLimits NONE = new HostLimits(OptionalLong.empty(), OptionalLong.empty(),
            OptionalDouble.empty(), Map.of());

    /** The PSI resources of /proc/pressure, as PROCQ_WORKER_MAX_PRESSURE names them. */
    public enum Pressure {
        CPU, MEMORY, IO;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public HostLimits {
        maxPressure = Collections.unmodifiableMap(maxPressure.isEmpty() ? Map.of() : new EnumMap<>(maxPressure));
    }

    public boolean any() {
        return memfree.isPresent() || maxLoad.isPresent() || !maxPressure.isEmpty();
    }

    /** For the log: "available memory is below 2.0GiB or the 1-minute load is above 8.0". */
    public String describe() {
        List<String> parts = new ArrayList<>();
        memfree.ifPresent(bytes -> parts.add("available memory is below " + Sizes.format(bytes)
                + memfreeKill.stream().mapToObj(kill -> " (below " + Sizes.format(kill) + " the youngest child is stopped)")
                        .findFirst().orElse("")));
        maxLoad.ifPresent(load -> parts.add("the 1-minute load is above " + load));
        maxPressure.forEach((resource, percent) -> parts.add(resource.key() + " pressure (avg10) is above " + percent + "%"));
        return String.join(" or ", parts);
    }

    /** Reads the four variables through {@code get} (blank and {@code off} are unset); a bad value throws, naming it. */
    static HostLimits parse(Function<String, Optional<String>> get) {
        OptionalLong memfree = size(get, MEMFREE);
        OptionalLong memfreeKill = size(get, MEMFREE_KILL);
        if (memfreeKill.isPresent()) {
            if (memfree.isEmpty()) {
                throw new ConfigException(MEMFREE_KILL + " needs " + MEMFREE + ": starts are held below the floor"
                        + " before any child is stopped below the kill floor");
            }
            if (memfreeKill.getAsLong() >= memfree.getAsLong()) {
                throw new ConfigException(MEMFREE_KILL + "=" + get.apply(MEMFREE_KILL).orElseThrow() + " must be below "
                        + MEMFREE + "=" + get.apply(MEMFREE).orElseThrow());
            }
        }
        OptionalDouble maxLoad = OptionalDouble.empty();
        Optional<String> load = value(get, MAX_LOAD);
        if (load.isPresent()) maxLoad = OptionalDouble.of(positive(MAX_LOAD + "=" + load.get(), load.get(), LOAD_LIMIT));
        return new HostLimits(memfree, memfreeKill, maxLoad, pressure(value(get, MAX_PRESSURE)));
    }

    private static Optional<String> value(Function<String, Optional<String>> get, String name) {
        return get.apply(name).filter(v -> !v.equalsIgnoreCase("off"));
    }

    private static OptionalLong size(Function<String, Optional<String>> get, String name) {
        Optional<String> raw = value(get, name);
        if (raw.isEmpty()) return OptionalLong.empty();
        long bytes;
        try {
            bytes = Sizes.parse(raw.get());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(name + "=" + raw.get() + " is not a size like 512M or 2G");
        }
        if (bytes <= 0) throw new ConfigException(name + "=" + raw.get() + " must be more than zero (off: no floor)");
        return OptionalLong.of(bytes);
    }

    /** {@code cpu:50,memory:10,io:30}: percent of the last 10 s some task was stalled on the resource. */
    private static Map<Pressure, Double> pressure(Optional<String> raw) {
        if (raw.isEmpty()) return Map.of();
        Map<Pressure, Double> ceilings = new EnumMap<>(Pressure.class);
        for (String entry : raw.get().split(",")) {
            String where = MAX_PRESSURE + "=" + raw.get() + ": '" + entry.trim() + "'";
            String[] parts = entry.trim().split(":", -1);
            if (parts.length != 2) {
                throw new ConfigException(where + " is not RESOURCE:PERCENT (e.g. cpu:50,memory:10,io:30)");
            }
            Pressure resource;
            try {
                resource = Pressure.valueOf(parts[0].trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(where + " names no PSI resource (cpu, memory, io)");
            }
            if (ceilings.put(resource, positive(where, parts[1].trim(), 100)) != null) {
                throw new ConfigException(where + ": " + resource.key() + " is given twice");
            }
        }
        return ceilings;
    }

    private static double positive(String where, String text, double max) {
        double value;
        try {
            value = Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new ConfigException(where + " is not a number");
        }
        if (!(value > 0 && value <= max)) {
            throw new ConfigException(where + " is out of range: more than 0, at most " + (long) max);
        }
        return value;
    }
}
