package dev.procq.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class EnvironmentTest {

    private final ChildLauncher launcher;

    EnvironmentTest(Backends backend) {
        this.launcher = backend.open();
    }

    @AfterEach
    void closeLauncher() {
        launcher.close();
    }

    @Test
    void childSeesExactlyTheGivenVariables() {
        Map<String, String> given = Map.of(
                "PATH", "/usr/bin:/bin",
                "PROCQ_WORKER_ID", "worker-7",
                "WITH_SPACES", "a value with spaces = and equals",
                "EMPTY", "");

        ChildResult result = launcher.start(ChildSpec.of(List.of("env", "-0"), given)).result().join();

        assertThat(result.succeeded()).as(result.toString()).isTrue();
        assertThat(environmentOf(result)).isEqualTo(given);
    }

    @Test
    void nothingOfTheWorkersOwnEnvironmentReachesTheChild() {
        assumeTrue(System.getenv().containsKey("HOME"), "the test JVM has no HOME to leak");

        ChildResult result = launcher.start(ChildSpec.of(List.of("env", "-0"), Map.of()))
                .result().join();

        assertThat(result.succeeded()).as(result.toString()).isTrue();
        assertThat(environmentOf(result)).isEmpty();
    }

    private static Map<String, String> environmentOf(ChildResult result) {
        Map<String, String> environment = new HashMap<>();
        for (String entry : result.outputTail().split("\0")) {
            if (!entry.isEmpty()) {
                int equals = entry.indexOf('=');
                environment.put(entry.substring(0, equals), entry.substring(equals + 1));
            }
        }
        return environment;
    }
}
