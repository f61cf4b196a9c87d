package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import dev.procq.intake.IntakeException;
import dev.procq.intake.TargetRules;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;

/** The shipped jobtypes.yaml, including its commented locked-down example, means what its comments say. */
class JobTypesExampleTest {
    static final Path FILE = Path.of("jobtypes.yaml");

    @Test
    void lockedDownExampleParsesWithEveryLimit() throws IOException {
        JobType thumbnail = uncommentedExample().find("thumbnail").orElseThrow();
        assertThat(thumbnail.limits()).isEqualTo(new JobType.Limits(30L, 1L << 30, 256L, 4096L));
        assertThat(thumbnail.passEnv()).containsExactly("PATH");
        assertThat(thumbnail.workingDirectory()).isEqualTo(Path.of("/srv/photos"));
        assertThat(thumbnail.sandbox()).isEqualTo(new JobType.Sandbox(false, List.of(Path.of("/srv/photos"))));
    }

    @Test
    void lockedDownExamplePatternKeepsTargetsToRelativeImagePaths() throws IOException {
        JobType thumbnail = uncommentedExample().find("thumbnail").orElseThrow();
        TargetRules rules = new TargetRules(4096);
        for (String fine : List.of("a.jpg", "2024/06/IMG 0001.jpeg", "x-y_z.jpg")) {
            rules.check(thumbnail, fine, "targets[0]");
        }
        for (String refused : List.of("../etc/x.jpg", "a/../../b.jpg", "/etc/x.jpg", "-x.jpg", "msl:evil.jpg",
                "text:/etc/passwd.jpg", "x.jpg[0]", "x.png", "x.jpg\nmore")) {
            Assertions.assertThatThrownBy(() -> rules.check(thumbnail, refused, "targets[0]"))
                    .as(refused).isInstanceOf(IntakeException.class);
        }
    }

    @Test
    void shippedHealthCheckDoesNotLetCurlExpandATarget() {
        JobType healthcheck = JobTypes.load(FILE).find("healthcheck").orElseThrow();
        assertThat(healthcheck.command()).contains("--globoff");
    }

    /** The file with its commented example type turned back into YAML. */
    private static JobTypes uncommentedExample() throws IOException {
        List<String> lines = Files.readAllLines(FILE);
        int start = lines.indexOf("  # thumbnail:");
        assertThat(start).as("the commented example in " + FILE).isPositive();
        String example = lines.subList(start, lines.size()).stream()
                .takeWhile(line -> line.startsWith("  #"))
                .map(line -> "  " + line.substring(4))
                .collect(Collectors.joining("\n"));
        return JobTypes.parse("types:\n" + example + "\n", FILE + " (example)");
    }
}
