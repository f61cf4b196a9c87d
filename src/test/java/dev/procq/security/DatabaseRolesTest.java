package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.api.ApiServer;
import dev.procq.config.JobTypes;
import dev.procq.config.Settings;
import dev.procq.config.Settings.DatabaseTarget;
import dev.procq.metrics.Metrics;
import dev.procq.store.AttemptResult;
import dev.procq.store.BatchControl;
import dev.procq.store.BatchDao;
import dev.procq.store.ClaimRoundTrip;
import dev.procq.store.Database;
import dev.procq.store.JobDao;
import dev.procq.store.JobState;
import dev.procq.store.JobTypeDao;
import dev.procq.store.Outcome;
import dev.procq.store.WorkerDao;
import dev.procq.testing.PostgresExtension;
import dev.procq.worker.Worker;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * db/ops/roles.sql applied to a migrated database, then procq run under each role through its
 * own login: the API and the worker do their whole job with nothing more, and each role is
 * refused what belongs to the others; the read-only role reads everything and changes nothing.
 */
class DatabaseRolesTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              exit:
                command: ["sh", "-c", "exit \\"$1\\"", "exit", "{target}"]
                targetPattern: '^[0-9]+$'
                concurrency: 4
              sleep:
                command: ["sleep", "{target}"]
                concurrency: 1
            """;
    static final String SUFFIX = UUID.randomUUID().toString().substring(0, 8);
    static final String PASSWORD = "pw-" + UUID.randomUUID();
    static final String API_LOGIN = "procq_t_api_" + SUFFIX;
    static final String WORKER_LOGIN = "procq_t_worker_" + SUFFIX;
    static final String READONLY_LOGIN = "procq_t_readonly_" + SUFFIX;

    static Database apiDb;
    static Database workerDb;
    static Database readonlyDb;
    static final List<Database> pools = new ArrayList<>();

    @BeforeAll
    static void applyRoles() throws Exception {
        String roles = Files.readString(Path.of("db", "ops", "roles.sql"));
        admin(roles);
        admin(roles); // idempotent: a second run changes nothing and fails nowhere
        admin("CREATE ROLE " + API_LOGIN + " LOGIN PASSWORD '" + PASSWORD + "' IN ROLE procq_api");
        admin("CREATE ROLE " + WORKER_LOGIN + " LOGIN PASSWORD '" + PASSWORD + "' IN ROLE procq_worker");
        admin("CREATE ROLE " + READONLY_LOGIN + " LOGIN PASSWORD '" + PASSWORD + "' IN ROLE procq_readonly");
        apiDb = pool(API_LOGIN);
        workerDb = pool(WORKER_LOGIN);
        readonlyDb = pool(READONLY_LOGIN);
    }

    @AfterAll
    static void dropLogins() throws Exception {
        pools.forEach(Database::close);
        for (String login : List.of(API_LOGIN, WORKER_LOGIN, READONLY_LOGIN)) admin("DROP ROLE IF EXISTS " + login);
        // The group roles keep grants only in this database, which is dropped next; remove them
        // unless another database still uses them.
        admin("DROP OWNED BY procq_api, procq_worker, procq_readonly");
        for (String role : List.of("procq_api", "procq_worker", "procq_readonly")) {
            try {
                admin("DROP ROLE " + role);
            } catch (SQLException stillUsedElsewhere) {
                // another database on this server holds grants to it
            }
        }
    }

    @Test
    void apiAndWorkerRolesRunTheWholeLifeOfABatch() throws Exception {
        JobTypes types = JobTypes.parse(TYPES, "test");
        Settings settings = postgres.settings(Map.of("PROCQ_HTTP_PORT", "0", "PROCQ_POLL_INTERVAL", "200ms",
                "PROCQ_WORKER_METRICS_PORT", "off", "PROCQ_WORKER_CONCURRENCY", "4"));
        Metrics metrics = new Metrics("roles");
        try (CapturedLogs logs = new CapturedLogs(Level.INFO, "dev.procq");
             ApiServer api = new ApiServer(settings, apiDb, types, metrics).start()) {
            Worker worker = new Worker(workerDb, types, settings, metrics.registry()).start();
            try {
                String base = "http://127.0.0.1:" + api.port();
                long batch = post(base + "/api/v1/batches", "{\"type\": \"exit\", \"priority\": 3, \"targets\": [\"0\", \"3\"]}")
                        .get("id").asLong();
                JsonNode done = awaitState(base, batch, "DONE");
                assertThat(done.get("counts").get("OK").asInt()).isEqualTo(1);
                assertThat(done.get("counts").get("FAILED").asInt()).isEqualTo(1);

                post(base + "/api/v1/batches/" + batch + "/retry", "");
                await().atMost(Duration.ofSeconds(30)).until(() ->
                        get(base + "/api/v1/batches/" + batch).get("counts").get("FAILED").asInt() == 1
                                && get(base + "/api/v1/batches/" + batch).get("state").asText().equals("DONE")
                                && attempts(batch) == 3);

                long sleeping = post(base + "/api/v1/batches", "{\"type\": \"sleep\", \"targets\": [\"30\", \"30\", \"30\"]}")
                        .get("id").asLong();
                await().atMost(Duration.ofSeconds(30)).until(() ->
                        get(base + "/api/v1/batches/" + sleeping).get("counts").get("RUNNING").asInt() == 1);
                post(base + "/api/v1/batches/" + sleeping + "/cancel", "");
                JsonNode cancelled = awaitState(base, sleeping, "CANCELLED");
                await().atMost(Duration.ofSeconds(30)).until(() ->
                        get(base + "/api/v1/batches/" + sleeping).get("counts").get("CANCELLED").asInt() == 3);
                assertThat(cancelled.get("total").asInt()).isEqualTo(3);
            } finally {
                worker.shutdown(Duration.ofSeconds(5));
            }
            assertThat(logs.lines()).noneMatch(line -> line.contains("permission denied"));
        }
    }

    @Test
    void everyStatementOfTheApiAndWorkerIsAllowedToItsRole() {
        long batch = apiDb.jdbi().inTransaction(h -> {
            BatchDao batches = h.attach(BatchDao.class);
            long id = batches.insertUnlessKeyUsed("exit", 0, "roles-" + SUFFIX).orElseThrow();
            batches.setTotal(id, 0);
            batches.setPriority(id, 1);
            return id;
        });
        BatchControl control = new BatchControl(apiDb.jdbi());
        assertThat(control.cancel(batch)).isPresent();
        assertThat(control.retry(batch, 1)).isPresent();
        apiDb.jdbi().useExtension(JobTypeDao.class, dao -> {
            dao.insertIfMissing("steered", 2);
            assertThat(dao.update("steered", 5, true)).isPresent();
            assertThat(dao.setExitCodes("steered", "{\"ok\": [0, 1]}")).isEqualTo(1);
        });

        long workerId = workerDb.jdbi().withExtension(WorkerDao.class, dao -> dao.register("roles-test", 1, 1, new String[] {"exit"}));
        workerDb.jdbi().useExtension(WorkerDao.class, dao -> {
            dao.heartbeat(workerId);
            dao.setHostHold(workerId, "memory");
            dao.earlierRunsOnHost("roles-test", workerId);
            dao.markStopped(workerId);
        });
        workerDb.jdbi().useExtension(JobDao.class, dao -> {
            dao.claimPending("exit", 1, workerId, 1000);
            dao.renewLeases(workerId, new Long[] {-1L}, 1000);
            dao.rescueExpiredLeases(10, 3, true, 20_000);
            dao.releaseAllHeldBy(workerId);
        });
        new ClaimRoundTrip(workerDb.jdbi(), workerId, 1000, 1000).run(List.of(new AttemptResult(-1, 1, JobState.OK,
                Outcome.OK, 0, null, null, "", OffsetDateTime.now(), Duration.ofMillis(1), Duration.ZERO, false, 2L, 1L,
                1024L, "ok: exit 0")), new String[] {"exit"}, new Integer[] {1}, 1);
        workerDb.jdbi().useExtension(BatchDao.class, dao -> dao.cancelledWithRunningJobsOf(workerId));
        workerDb.jdbi().useExtension(JobTypeDao.class, dao -> dao.insertIfMissing("seeded-by-worker", 1));
        // retention
        int batches = workerDb.jdbi().withHandle(h -> h.createUpdate("DELETE FROM procq.batch WHERE id = :id")
                .bind("id", batch).execute());
        int workers = workerDb.jdbi().withHandle(h -> h.createUpdate("DELETE FROM procq.worker WHERE id = :id")
                .bind("id", workerId).execute());
        assertThat(batches).isEqualTo(1);
        assertThat(workers).isEqualTo(1);
    }

    @Test
    void readonlyRoleReadsEverythingAndChangesNothing() {
        for (String relation : List.of("batch", "job", "job_attempt", "job_type", "worker", "batch_progress",
                "recent_failures", "stuck_jobs", "flyway_schema_history")) {
            long rows = readonlyDb.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM procq." + relation)
                    .mapTo(Long.class).one());
            assertThat(rows).as(relation).isNotNegative();
        }
        assertDenied(readonlyDb, "INSERT INTO procq.batch (type, total) VALUES ('exit', 0)");
        assertDenied(readonlyDb, "UPDATE procq.job SET state = 'OK'");
        assertDenied(readonlyDb, "UPDATE procq.job_type SET paused = true");
        assertDenied(readonlyDb, "DELETE FROM procq.job_attempt");
        assertDenied(readonlyDb, "TRUNCATE procq.job");
        assertDenied(readonlyDb, "COPY procq.job (batch_id, type, target) FROM STDIN");
        assertDenied(readonlyDb, "CREATE TABLE procq.mine (id int)");
        assertDenied(readonlyDb, "ALTER TABLE procq.job DROP CONSTRAINT job_state_check");
    }

    @Test
    void apiRoleCannotDoWhatOnlyWorkersDo() {
        assertDenied(apiDb, "INSERT INTO procq.job_attempt (job_id, attempt, started_at, finished_at, outcome, duration_ms) "
                + "VALUES (1, 1, now(), now(), 'OK', 0)");
        assertDenied(apiDb, "UPDATE procq.job SET worker_id = 1, lease_expires_at = now()");
        assertDenied(apiDb, "UPDATE procq.job SET target = 'rewritten'");
        assertDenied(apiDb, "INSERT INTO procq.worker (host, pid, concurrency, types) VALUES ('h', 1, 1, '{}')");
        assertDenied(apiDb, "DELETE FROM procq.job");
        assertDenied(apiDb, "DROP TABLE procq.job_attempt");
    }

    @Test
    void workerRoleCannotSubmitOrRewriteWhatRuns() {
        assertDenied(workerDb, "INSERT INTO procq.batch (type, total) VALUES ('exit', 0)");
        assertDenied(workerDb, "INSERT INTO procq.job (batch_id, type, target) VALUES (1, 'exit', 'x')");
        assertDenied(workerDb, "UPDATE procq.job SET target = 'rm -rf /'");
        assertDenied(workerDb, "UPDATE procq.job SET type = 'other'");
        assertDenied(workerDb, "UPDATE procq.job_type SET concurrency = 1000");
        assertDenied(workerDb, "UPDATE procq.batch SET type = 'other'");
        assertDenied(workerDb, "CREATE TABLE procq.mine (id int)");
    }

    private static void assertDenied(Database database, String sql) {
        assertThatThrownBy(() -> database.jdbi().useHandle(h -> h.execute(sql)))
                .as(sql)
                .hasRootCauseInstanceOf(org.postgresql.util.PSQLException.class)
                .rootCause().satisfies(e -> assertThat(((SQLException) e).getSQLState()).as(sql + ": " + e.getMessage())
                        .isIn("42501", "42P01")); // insufficient privilege (or, for the schema, not visible)
    }

    private static int attempts(long batch) {
        return postgres.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT count(*) FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id WHERE j.batch_id = :b")
                .bind("b", batch).mapTo(Integer.class).one());
    }

    private static JsonNode awaitState(String base, long batch, String state) throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> get(base + "/api/v1/batches/" + batch).get("state").asText().equals(state));
        return get(base + "/api/v1/batches/" + batch);
    }

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static JsonNode post(String url, String json) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isBetween(200, 299);
        return dev.procq.testing.Procq.JSON.readTree(response.body());
    }

    private static JsonNode get(String url) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return dev.procq.testing.Procq.JSON.readTree(response.body());
    }

    /** A pool that logs in as the given role, with no user or password left in the URL. */
    private static Database pool(String login) {
        String url = postgres.target().jdbcUrl().replaceAll("([?&])(user|password)=[^&]*&?", "$1").replaceAll("[?&]$", "");
        Database database = new Database(new DatabaseTarget(url, login, PASSWORD), login, 4);
        pools.add(database);
        return database;
    }

    private static void admin(String sql) throws SQLException {
        try (Connection connection = postgres.database().dataSource().getConnection();
             Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }
}
