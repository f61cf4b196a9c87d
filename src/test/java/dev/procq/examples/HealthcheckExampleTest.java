package dev.procq.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * examples/healthcheck as shipped: its job type, real curl, and its endpoint server
 * (examples/healthcheck/Endpoints.java) started as a process on 127.0.0.1.
 */
class HealthcheckExampleTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static Process endpoints;
    static String server;
    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        endpoints = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "examples/healthcheck/Endpoints.java", "0")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        server = new BufferedReader(new InputStreamReader(endpoints.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertThat(server).as("the endpoint server's URL").startsWith("http://127.0.0.1:");
        procq = new Procq(postgres, Files.readString(Path.of("examples/healthcheck/jobtypes.yaml")),
                Map.of("PROCQ_WORKER_CONCURRENCY", "500", "PROCQ_WORKER_METRICS_PORT", "off")).startApi();
        procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        if (procq != null) procq.close();
        if (endpoints != null) {
            endpoints.destroy();
            endpoints.waitFor();
        }
    }

    @Test
    void healthyAndSlowEndpointsAreOkAndErrorsTimeoutsAndRefusalsFailWithCurlsExitCode() throws Exception {
        Map<String, Integer> expectedExit = new LinkedHashMap<>();
        for (int i = 0; i < 20; i++) expectedExit.put(server + "/200/0/fast-" + i, 0);
        for (int i = 0; i < 5; i++) expectedExit.put(server + "/200/1500/slow-" + i, 0);
        expectedExit.put(server + "/204/300/no-content", 0);
        expectedExit.put(server + "/500/0/broken", 22);
        expectedExit.put(server + "/503/200/overloaded", 22);
        expectedExit.put(server + "/404/0/missing", 22);
        expectedExit.put(server + "/200/8000/hung", 28);
        expectedExit.put(closedPortUrl() + "/200/0/down", 7);

        long id = procq.submit("healthcheck", new ArrayList<>(expectedExit.keySet()));
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> procq.batch(id).get("state").asText().equals("DONE"));

        JsonNode batch = procq.batch(id);
        assertThat(batch.get("counts").get("OK").asLong()).isEqualTo(26);
        assertThat(batch.get("counts").get("FAILED").asLong()).isEqualTo(5);
        Map<String, Integer> actualExit = new HashMap<>();
        Map<String, String> actualState = new HashMap<>();
        for (JsonNode job : procq.get("/api/v1/batches/" + id + "/jobs?limit=100").json().get("items")) {
            actualExit.put(job.get("target").asText(), job.get("exitCode").asInt());
            actualState.put(job.get("target").asText(), job.get("state").asText());
        }
        assertThat(actualExit).isEqualTo(expectedExit);
        expectedExit.forEach((url, exit) -> assertThat(actualState.get(url)).as(url).isEqualTo(exit == 0 ? "OK" : "FAILED"));
    }

    private static String closedPortUrl() throws Exception {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return "http://127.0.0.1:" + socket.getLocalPort();
        }
    }
}
