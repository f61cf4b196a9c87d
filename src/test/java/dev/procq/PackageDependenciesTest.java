package dev.procq;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Dependencies point one way: api -> intake -> store, worker -> pool and store, and the
 * CLI speaks only HTTP. Read from the sources' imports and fully qualified names.
 */
class PackageDependenciesTest {
    private static final Path SOURCES = Path.of("src/main/java/dev/procq");
    private static final Pattern REFERENCE = Pattern.compile("\\bdev\\.procq\\.([a-z]+)\\.");

    /** For each package, the procq packages it must never use. */
    private static final Map<String, Set<String>> FORBIDDEN = Map.of(
            "config", Set.of("store", "intake", "api", "worker", "pool", "cli", "metrics"),
            "store", Set.of("intake", "api", "worker", "pool", "cli", "metrics"),
            "intake", Set.of("api", "worker", "pool", "cli"),
            "api", Set.of("worker", "pool", "cli"),
            "worker", Set.of("api", "intake", "cli"),
            "pool", Set.of("config", "store", "intake", "api", "worker", "cli", "metrics"),
            "cli", Set.of("store", "intake", "api", "worker", "pool"),
            "metrics", Set.of("store", "intake", "api", "worker", "pool", "cli"));

    @Test
    void dependenciesPointOneWay() throws IOException {
        List<String> violations = new ArrayList<>();
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                Path relative = SOURCES.relativize(file);
                if (relative.getNameCount() < 2) continue; // Main and the commands wire everything together
                String owner = relative.getName(0).toString();
                Set<String> forbidden = FORBIDDEN.getOrDefault(owner, Set.of());
                Matcher m = REFERENCE.matcher(Files.readString(file));
                while (m.find()) {
                    if (forbidden.contains(m.group(1))) {
                        violations.add(relative + " uses dev.procq." + m.group(1));
                    }
                }
            }
        }
        assertThat(violations).isEmpty();
    }

    @Test
    void noCatchAllPackages() throws IOException {
        try (Stream<Path> dirs = Files.list(SOURCES)) {
            assertThat(dirs.filter(Files::isDirectory).map(d -> d.getFileName().toString()))
                    .doesNotContain("util", "utils", "common", "manager", "helper", "helpers");
        }
    }
}
