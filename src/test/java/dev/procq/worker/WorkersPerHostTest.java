package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.config.Settings;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.WorkerProcess;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Worker JVMs started on one host with the same environment each get a /metrics port of their own. */
class WorkersPerHostTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              echo:
                command: ["echo", "{target}"]
            """;

    @TempDir
    Path dir;

    @Test
    void twoWorkersWithTheDefaultMetricsPortBothStartAndRecordDifferentPorts() throws Exception {
        Map<String, String> env = environment();
        // Unset, as an operator who never chose a port leaves it: blank counts as unset.
        env.put("PROCQ_WORKER_METRICS_PORT", "");
        Jdbi jdbi = postgres.database().jdbi();
        List<WorkerProcess> workers = new ArrayList<>();
        try {
            // Side by side, so both reach for the default port at about the same moment.
            workers.add(WorkerProcess.start("same-host-a", env));
            workers.add(WorkerProcess.start("same-host-b", env));
            List<Integer> ports = new ArrayList<>();
            for (WorkerProcess worker : workers) {
                worker.awaitRegistered(jdbi);
                Optional<Integer> port = metricsPort(jdbi, worker);
                assertThat(port).as("metrics_port of worker %d:%n%s", worker.pid(), worker.logTail()).isPresent();
                ports.add(port.get());
            }
            assertThat(ports.get(0)).isNotEqualTo(ports.get(1));

            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            for (int i = 0; i < workers.size(); i++) {
                HttpResponse<String> scrape = http.send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + ports.get(i) + "/metrics"))
                        .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
                assertThat(scrape.statusCode()).isEqualTo(200);
                assertThat(scrape.body()).contains("procq_worker_").contains("component=\"worker\"");
                if (ports.get(i) != Settings.DEFAULT_WORKER_METRICS_PORT) {
                    // The one that gave way says where it went, and why.
                    assertThat(workers.get(i).log()).contains("metrics port").contains("is taken")
                            .contains("serving /metrics on " + ports.get(i));
                }
            }

            for (WorkerProcess worker : workers) worker.signal("TERM");
            for (WorkerProcess worker : workers) {
                assertThat(worker.awaitExit(Duration.ofSeconds(20))).as(worker.logTail()).isZero();
            }
        } finally {
            workers.forEach(WorkerProcess::close);
        }
    }

    @Test
    void aTakenMetricsPortTheOperatorSetStopsTheWorkerWithExitCode2NamingTheVariable() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Map<String, String> env = environment();
            env.put("PROCQ_WORKER_METRICS_PORT", Integer.toString(taken.getLocalPort()));
            try (WorkerProcess worker = WorkerProcess.start("explicit-port", env)) {
                assertThat(worker.awaitExit(Duration.ofSeconds(30))).as(worker.logTail()).isEqualTo(2);
                assertThat(worker.log()).contains("PROCQ_WORKER_METRICS_PORT=" + taken.getLocalPort())
                        .contains("in use").contains("leave PROCQ_WORKER_METRICS_PORT unset");
                assertThat(metricsPort(postgres.database().jdbi(), worker)).isEmpty();
            }
        }
    }

    private Map<String, String> environment() throws Exception {
        Path jobTypes = dir.resolve("jobtypes.yaml");
        Files.writeString(jobTypes, TYPES);
        return new HashMap<>(WorkerProcess.environment(postgres, jobTypes, 2, "15s"));
    }

    private static Optional<Integer> metricsPort(Jdbi jdbi, WorkerProcess worker) {
        return jdbi.withHandle(h -> h.createQuery("SELECT metrics_port FROM procq.worker WHERE pid = :pid")
                .bind("pid", worker.pid()).mapTo(Integer.class).findOne());
    }
}
