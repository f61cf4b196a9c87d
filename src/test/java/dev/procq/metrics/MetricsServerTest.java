package dev.procq.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Where a worker's /metrics listens when the port it prefers is taken. */
class MetricsServerTest {
    static final String HOST = "127.0.0.1";
    final Metrics metrics = new Metrics("worker");

    @Test
    void aTakenPreferredPortGivesWayToTheNextFreeOne() throws Exception {
        try (ServerSocket taken = listen(0); MetricsServer server = MetricsServer.openNear(metrics, HOST, taken.getLocalPort())) {
            assertThat(server.port()).isBetween(taken.getLocalPort() + 1, taken.getLocalPort() + MetricsServer.NEARBY_PORTS - 1);
            assertThat(scrape(server.port())).isEqualTo(200);
        }
    }

    @Test
    void whenEveryNearbyPortIsTakenAnyFreePortWillDo() throws Exception {
        List<ServerSocket> held = new ArrayList<>();
        try {
            ServerSocket first = listen(0);
            held.add(first);
            int preferred = first.getLocalPort();
            for (int port = preferred + 1; port < preferred + MetricsServer.NEARBY_PORTS; port++) {
                try {
                    held.add(listen(port));
                } catch (IOException alreadyTaken) {
                    // someone else holds it: taken all the same
                }
            }
            try (MetricsServer server = MetricsServer.openNear(metrics, HOST, preferred)) {
                assertThat(server.port()).satisfiesAnyOf(
                        port -> assertThat(port).isLessThan(preferred),
                        port -> assertThat(port).isGreaterThanOrEqualTo(preferred + MetricsServer.NEARBY_PORTS));
                assertThat(scrape(server.port())).isEqualTo(200);
            }
        } finally {
            for (ServerSocket socket : held) socket.close();
        }
    }

    @Test
    void aFreePreferredPortIsUsedAsIs() throws Exception {
        int free;
        try (ServerSocket probe = listen(0)) {
            free = probe.getLocalPort();
        }
        try (MetricsServer server = MetricsServer.openNear(metrics, HOST, free)) {
            assertThat(server.port()).isEqualTo(free);
        }
    }

    private static ServerSocket listen(int port) throws IOException {
        return new ServerSocket(port, 1, InetAddress.getByName(HOST));
    }

    private static int scrape(int port) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://" + HOST + ":" + port + "/metrics"))
                .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }
}
