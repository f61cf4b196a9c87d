package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.pool.RunAs;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.WorkerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A hostile program, a shell script run as {@code nobody} by a real worker JVM running as root,
 * tries to read the worker's and the helper's environment and memory map, the database password
 * file and the job-types file (both 0600), to signal the worker and the helper, and to write into
 * the worker's temporary directory. Every attempt fails. The script prints one line per attempt
 * with its result, so a script that never ran cannot pass; and a control type without
 * {@code user:} runs the same script as root, where every read succeeds, so the test can tell
 * success from failure. Over both backends.
 *
 * <p>The worker also logs in with its password from {@code PROCQ_DATABASE_PASSWORD_FILE}, as a
 * role that has one. (Where the test server trusts 127.0.0.1, as .ci/run's does, the server does
 * not ask for it: this shows the file is read and used, not that PostgreSQL checked it.)
 */
class OtherUserContainmentTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String LOGIN = "procq_secret_file_" + UUID.randomUUID().toString().substring(0, 8);
    static final String PASSWORD = "pw-" + UUID.randomUUID();

    static final List<String> ATTEMPTS = List.of("worker-environ", "helper-environ", "worker-memory-map",
            "helper-memory-map", "worker-fds", "password-file", "job-types-file", "signal-worker", "signal-helper",
            "write-worker-tmp");

    static final String SCRIPT = """
            #!/bin/sh
            # $1: the worker's pid. The helper is this script's parent (through ProcessBuilder: the worker).
            worker=$1
            helper=$PPID
            try() {
              name=$1; shift
              if "$@" >/dev/null 2>&1; then echo "$name: succeeded"; else echo "$name: failed"; fi
            }
            echo "running as $(id -u):$(id -g), groups $(id -G)"
            try worker-environ cat /proc/$worker/environ
            try worker-environ-holds-a-secret grep -q AWS_SECRET_ACCESS_KEY= /proc/$worker/environ
            try helper-environ cat /proc/$helper/environ
            try worker-memory-map cat /proc/$worker/maps
            try helper-memory-map cat /proc/$helper/maps
            try worker-fds ls /proc/$worker/fd
            try password-file cat "$PASSWORD_FILE"
            try job-types-file cat "$JOB_TYPES"
            try signal-worker kill -0 $worker
            try signal-helper kill -0 $helper
            try write-worker-tmp touch "$WORKER_TMP/written-by-$(id -u)"
            if [ "$HOSTILE" = yes ]; then
              try terminate-worker kill -TERM $worker
              try terminate-helper kill -TERM $helper
            fi
            echo "all attempts made"
            """;

    @TempDir
    static Path secrets;
    static Path scripts;
    static Path passwordFile;
    static Path workerTmp;

    @BeforeAll
    static void prepare() throws Exception {
        secrets = secrets.toRealPath();
        // Others may pass through but not list: the password and job-types files stand on their own 0600.
        Files.setPosixFilePermissions(secrets, PosixFilePermissions.fromString("rwx--x--x"));
        // The script must be reachable by nobody; the secrets directory is not.
        scripts = Files.createTempDirectory("procq-hostile-");
        Files.setPosixFilePermissions(scripts, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path script = Files.writeString(scripts.resolve("hostile.sh"), SCRIPT);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        passwordFile = Files.writeString(secrets.resolve("db_password"), PASSWORD + "\n");
        Files.setPosixFilePermissions(passwordFile, PosixFilePermissions.fromString("rw-------"));
        workerTmp = Files.createDirectory(secrets.resolve("worker-tmp"));
        Files.setPosixFilePermissions(workerTmp, PosixFilePermissions.fromString("rwx------"));
        String owner = postgres.database().jdbi().withHandle(h -> h.createQuery("SELECT current_user").mapTo(String.class).one());
        admin("CREATE ROLE " + LOGIN + " LOGIN PASSWORD '" + PASSWORD + "' IN ROLE " + owner);
    }

    @AfterAll
    static void cleanUp() throws Exception {
        admin("DROP ROLE IF EXISTS " + LOGIN);
        if (scripts != null) {
            try (Stream<Path> files = Files.list(scripts)) {
                for (Path file : files.toList()) Files.delete(file);
            }
            Files.delete(scripts);
        }
    }

    @ParameterizedTest(name = "PROCQ_SPAWNER={0}")
    @ValueSource(strings = {"native", "java"})
    void aChildOfAnotherUserReachesNothingOfTheWorkers(String spawner) throws Exception {
        assumeTrue(RunAs.whyUsersCannotChange().isEmpty(),
                () -> "needs a worker that may switch users: " + RunAs.whyUsersCannotChange().orElse(""));
        String types = """
                types:
                  hostile:
                    command: ["%1$s", "{target}"]
                    user: nobody
                    env: {PASSWORD_FILE: "%2$s", JOB_TYPES: "%3$s", WORKER_TMP: "%4$s", HOSTILE: "yes"}
                  control:
                    command: ["%1$s", "{target}"]
                    env: {PASSWORD_FILE: "%2$s", JOB_TYPES: "%3$s", WORKER_TMP: "%4$s"}
                """.formatted(scripts.resolve("hostile.sh"), passwordFile, secrets.resolve("jobtypes.yaml"), workerTmp);
        Path jobTypes = Files.writeString(secrets.resolve("jobtypes.yaml"), types);
        Files.setPosixFilePermissions(jobTypes, PosixFilePermissions.fromString("rw-------"));

        Map<String, String> env = new LinkedHashMap<>(WorkerProcess.environment(postgres, jobTypes, 2, "15s"));
        // Logs in as a role with a password, which comes from a file and is in no environment.
        env.put("PROCQ_DATABASE_URL", postgres.target().jdbcUrl()
                .replaceAll("([?&])(user|password)=[^&]*&?", "$1").replaceAll("[?&]$", ""));
        env.put("PROCQ_DATABASE_USER", LOGIN);
        env.remove("PROCQ_DATABASE_PASSWORD");
        env.put("PROCQ_DATABASE_PASSWORD_FILE", passwordFile.toString());
        env.put("PROCQ_SPAWNER", spawner);
        env.put("AWS_SECRET_ACCESS_KEY", "aws-" + UUID.randomUUID());

        try (Procq procq = new Procq(postgres, types, Map.of()).startApi();
             WorkerProcess worker = WorkerProcess.start("hostile-" + spawner, env, "-Djava.io.tmpdir=" + workerTmp)) {
            worker.awaitRegistered(postgres.database().jdbi());
            String workerPid = Long.toString(worker.pid());
            assertThat(Files.readString(Path.of("/proc", workerPid, "environ")))
                    .contains("PROCQ_DATABASE_PASSWORD_FILE=").doesNotContain(PASSWORD);

            Map<String, String> hostile = results(run(procq, worker, "hostile", workerPid));
            assertThat(hostile).as("what the script as nobody printed").containsEntry("running as",
                    "65534:65534, groups 65534");
            for (String attempt : ATTEMPTS) {
                assertThat(hostile).as(attempt).containsEntry(attempt, "failed");
            }
            assertThat(hostile).containsEntry("terminate-worker", "failed").containsEntry("terminate-helper", "failed");
            assertThat(workerTmp.resolve("written-by-65534")).doesNotExist();
            assertThat(worker.isAlive()).isTrue();

            Map<String, String> control = results(run(procq, worker, "control", workerPid));
            assertThat(control).containsEntry("running as", "0:0, groups 0");
            for (String attempt : ATTEMPTS) {
                assertThat(control).as("as root: " + attempt).containsEntry(attempt, "succeeded");
            }
            assertThat(control).containsEntry("worker-environ-holds-a-secret", "succeeded");
            assertThat(workerTmp.resolve("written-by-0")).exists();
            Files.delete(workerTmp.resolve("written-by-0"));
        }
    }

    @org.junit.jupiter.api.Test
    void aWorkerLogsInWithThePasswordFromItsFileAndRefusesTheSecretGivenTwice() throws Exception {
        Path jobTypes = Files.writeString(secrets.resolve("plain.yaml"), """
                types:
                  echo: {command: ["echo", "{target}"]}
                """);
        Map<String, String> env = new LinkedHashMap<>(WorkerProcess.environment(postgres, jobTypes, 1, "15s"));
        env.put("PROCQ_DATABASE_URL", postgres.target().jdbcUrl()
                .replaceAll("([?&])(user|password)=[^&]*&?", "$1").replaceAll("[?&]$", ""));
        env.put("PROCQ_DATABASE_USER", LOGIN);
        env.remove("PROCQ_DATABASE_PASSWORD");
        env.put("PROCQ_DATABASE_PASSWORD_FILE", passwordFile.toString());
        try (WorkerProcess worker = WorkerProcess.start("password-file", env)) {
            long id = worker.awaitRegistered(postgres.database().jdbi());
            // Only this worker logs in as LOGIN.
            int sessions = postgres.database().jdbi().withHandle(h -> h.createQuery(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = :login")
                    .bind("login", LOGIN).mapTo(Integer.class).one());
            assertThat(sessions).as("sessions of worker %d as %s", id, LOGIN).isPositive();
            assertThat(Files.readString(Path.of("/proc", Long.toString(worker.pid()), "environ"))).doesNotContain(PASSWORD);
        }

        env.put("PROCQ_DATABASE_PASSWORD", PASSWORD);
        try (WorkerProcess twice = WorkerProcess.start("password-twice", env)) {
            assertThat(twice.awaitExit(Duration.ofSeconds(30))).isEqualTo(2);
            assertThat(twice.log()).contains("both PROCQ_DATABASE_PASSWORD and PROCQ_DATABASE_PASSWORD_FILE are set");
        }
    }

    /** Runs the script once as the given type and returns its output tail. */
    private static String run(Procq procq, WorkerProcess worker, String type, String workerPid) {
        long batch = procq.submit(type, List.of(workerPid));
        await().atMost(Duration.ofSeconds(60))
                .failFast("worker exited: " + worker.logTail(), () -> !worker.isAlive())
                .until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        JsonNode item = procq.get("/api/v1/batches/" + batch + "/jobs").json().get("items").get(0);
        JsonNode job = procq.get("/api/v1/jobs/" + item.get("id").asLong()).json();
        String tail = job.get("attempts").get(0).get("outputTail").asText();
        assertThat(job.get("state").asText()).as(job + "\n" + worker.logTail()).isEqualTo("OK");
        assertThat(tail).as("the script ran to its end").endsWith("all attempts made\n");
        return tail;
    }

    /** "name: result" lines as a map; "running as 0:0, groups 0" as "running as". */
    private static Map<String, String> results(String output) {
        Map<String, String> results = new LinkedHashMap<>();
        for (String line : output.lines().toList()) {
            if (line.startsWith("running as ")) {
                results.put("running as", line.substring("running as ".length()));
            } else if (line.contains(": ")) {
                results.put(line.substring(0, line.indexOf(": ")), line.substring(line.indexOf(": ") + 2));
            }
        }
        return results;
    }

    private static void admin(String sql) throws Exception {
        try (Connection connection = postgres.database().dataSource().getConnection();
             Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }
}
