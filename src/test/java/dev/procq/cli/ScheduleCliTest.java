package dev.procq.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** procq schedule create|list|show|pause|resume|delete against a real API. */
class ScheduleCliTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static Procq procq;

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, Procq.ECHO_TYPES, Map.of()).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    static CliRun cli(String... args) {
        return CliRun.with(Map.of("PROCQ_URL", procq.baseUrl())).run(args);
    }

    @Test
    void aScheduleIsManagedFromTheCommandLine() {
        CliRun created = cli("schedule", "create", "health", "--cron", "0 */5 * * * *", "--zone", "Europe/Berlin",
                "--type", "echo", "--overlap", "queue-one", "--catch-up", "run-once", "--priority", "3", "--halt", "failed=10",
                "https://a.example/", "https://b.example/");
        assertThat(created.exit()).as(created.toString()).isZero();
        assertThat(created.out()).contains("schedule 1 health: '0 */5 * * * *' in Europe/Berlin, type echo, 2 targets")
                .contains("overlap queue-one, catch-up run-once, next run 20");

        assertThat(cli("schedule", "list").out()).contains("health");
        CliRun paused = cli("schedule", "pause", "health");
        assertThat(paused.out()).contains("health (PAUSED)");
        assertThat(cli("schedule", "resume", "1").out()).doesNotContain("PAUSED");
        CliRun shown = cli("schedule", "show", "health", "--json");
        assertThat(shown.out()).contains("\"priority\":3").contains("\"halt\":{\"failed\":10}");

        CliRun bad = cli("schedule", "create", "broken", "--cron", "every minute", "--type", "echo", "a");
        assertThat(bad.exit()).isEqualTo(ExitCodes.FAILED);
        assertThat(bad.err()).contains("cron 'every minute' has 2 fields");
        assertThat(cli("schedule", "create", "none", "--cron", "* * * * *", "--type", "echo").exit()).isEqualTo(ExitCodes.USAGE);

        assertThat(cli("schedule", "delete", "health").out()).contains("schedule health deleted");
        assertThat(cli("schedule", "show", "health").exit()).isEqualTo(ExitCodes.FAILED);
    }
}
