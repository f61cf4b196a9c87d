package dev.procq;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import dev.procq.security.CapturedLogs;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.nio.file.Files;
import java.nio.file.Path;
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

    private static java.util.List<String> tables(Handle handle) {
        return handle.createQuery("SELECT table_name FROM information_schema.tables WHERE table_schema = 'procq'")
                .mapTo(String.class).list();
    }
}
