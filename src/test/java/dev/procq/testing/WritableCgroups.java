package dev.procq.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A writable cgroup v2 directory for tests that run children in cgroups: where this host offers
 * one (a cgroup2 mount in which this process may make directories, such as the unified hierarchy
 * of a hybrid host, or a container's own), each test gets a fresh subtree and removes it after.
 * Elsewhere {@link #unavailable()} says why, for a JUnit assumption.
 */
public final class WritableCgroups {
    private static final Optional<Path> BASE = findBase();

    private WritableCgroups() {
    }

    /** Null where a test can run, else why not. */
    public static String unavailable() {
        return BASE.isPresent() ? null
                : "no writable cgroup v2 hierarchy on this host (no cgroup2 mount in /proc/self/mountinfo where this"
                        + " process may make a cgroup with cgroup.kill)";
    }

    /** A new, empty cgroup directory, to be passed to {@link #remove}. */
    public static Path fresh() {
        Path root = BASE.orElseThrow().resolve("procq-test-" + UUID.randomUUID().toString().substring(0, 8));
        try {
            Files.createDirectory(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return root;
    }

    /** Kills what is left in the subtree and removes its cgroups, deepest first. */
    public static void remove(Path root) {
        if (!Files.isDirectory(root)) return;
        List<Path> cgroups;
        try (Stream<Path> walk = Files.walk(root)) {
            cgroups = walk.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        for (Path cgroup : cgroups) {
            try {
                if (Files.exists(cgroup.resolve("cgroup.kill"))) Files.writeString(cgroup.resolve("cgroup.kill"), "1");
            } catch (IOException ignored) {
                // removed meanwhile
            }
        }
        for (Path cgroup : cgroups) {
            long until = System.nanoTime() + 5_000_000_000L;
            while (Files.isDirectory(cgroup)) {
                try {
                    Files.delete(cgroup);
                } catch (IOException busy) {
                    if (System.nanoTime() > until) throw new IllegalStateException("cannot remove " + cgroup, busy);
                    java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
                }
            }
        }
    }

    /** The cgroups directly under {@code root}, by name. */
    public static List<String> children(Path root) {
        try (Stream<Path> list = Files.list(root)) {
            return list.filter(Files::isDirectory).map(path -> path.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Optional<Path> findBase() {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/mountinfo"));
        } catch (IOException e) {
            return Optional.empty();
        }
        for (String line : lines) {
            int separator = line.indexOf(" - ");
            if (separator < 0 || !line.substring(separator + 3).startsWith("cgroup2 ")) continue;
            Path mount = Path.of(line.substring(0, separator).split(" ")[4]);
            Path probe = mount.resolve("procq-test-probe-" + ProcessHandle.current().pid());
            try {
                Files.createDirectory(probe);
                boolean killable = Files.exists(probe.resolve("cgroup.kill"));
                Files.delete(probe);
                if (killable) return Optional.of(mount);
            } catch (IOException notWritable) {
                // the next mount, if any
            }
        }
        return Optional.empty();
    }
}
