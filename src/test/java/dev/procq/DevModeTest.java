package dev.procq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import dev.procq.config.Settings;
import dev.procq.security.CapturedLogs;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a newcomer sees from {@code procq dev}: the path it runs (migrate an empty database, then
 * the API and a worker with the shipped jobtypes.yaml) logs nothing at WARN or above, and the
 * shipped types run at the concurrency they declare.
 */
class DevModeTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final Path SHIPPED_TYPES = Path.of("jobtypes.yaml");

    @Test
    void freshStartLogsNoWarning() throws Exception {
        // The extension migrated the class's database; dropping the schema (and Flyway's history in it) makes it new.
        postgres.database().jdbi().useHandle(handle -> handle.execute("DROP SCHEMA procq CASCADE"));
        try (CapturedLogs logs = new CapturedLogs(Level.INFO, "org.flywaydb")) {
            postgres.database().migrate();
            try (Procq procq = new Procq(postgres, Files.readString(SHIPPED_TYPES), Map.of()).startApi()) {
                procq.startWorker();
            }
            assertThat(logs.lines()).filteredOn(line -> line.startsWith("WARN") || line.startsWith("ERROR")).isEmpty();
        }
        assertThat(postgres.database().jdbi().withHandle(DevModeTest::tables)).contains("job", "batch", "job_type");
    }

    @Test
    void theDefaultCapLetsEveryShippedTypeRunAtItsConcurrency() throws Exception {
        JobTypes shipped = JobTypes.load(SHIPPED_TYPES);
        int cap = new Settings(Map.of()).workerConcurrency(shipped);
        for (JobType type : shipped.all()) assertThat(cap).as(type.name()).isGreaterThanOrEqualTo(type.concurrency());
        assertThat(cap).isEqualTo(shipped.all().stream().mapToInt(JobType::concurrency).sum());
        // Set, the variable wins, whatever the types add up to.
        assertThat(new Settings(Map.of("PROCQ_WORKER_CONCURRENCY", "3")).workerConcurrency(shipped)).isEqualTo(3);
    }

    @Test
    void theShippedSleepTypeRunsEightAtOnce() throws Exception {
        try (Procq procq = new Procq(postgres, Files.readString(SHIPPED_TYPES), Map.of()).startApi()) {
            procq.startWorker();
            long batch = procq.submit("sleep", java.util.Collections.nCopies(16, "1"));
            await().atMost(Duration.ofSeconds(30)).until(() -> running(batch) == 8);
            await().atMost(Duration.ofSeconds(30)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        }
    }

    private static int running(long batch) {
        return postgres.database().jdbi().withHandle(handle -> handle.createQuery(
                "SELECT count(*) FROM procq.job WHERE batch_id = :batch AND state = 'RUNNING'")
                .bind("batch", batch).mapTo(Integer.class).one());
    }

    private static java.util.List<String> tables(Handle handle) {
        return handle.createQuery("SELECT table_name FROM information_schema.tables WHERE table_schema = 'procq'")
                .mapTo(String.class).list();
    }
}
