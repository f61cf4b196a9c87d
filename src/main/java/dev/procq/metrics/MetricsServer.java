package dev.procq.metrics;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The worker's own /metrics endpoint: the worker has no API server, so a tiny JDK server serves the scrape. */
public final class MetricsServer implements AutoCloseable {
    /**
     * Ports tried from the default before any free port will do. Workers started side by side on
     * one host take 9464, 9465, ...: a range a static scrape configuration can list, which the
     * random ports past it are not.
     */
    public static final int NEARBY_PORTS = 16;
    private static final Logger log = LoggerFactory.getLogger(MetricsServer.class);

    private final HttpServer server;

    /**
     * Listens on {@code preferred}, or when another process holds it (another worker on this
     * host, most often) on the next free one of the {@link #NEARBY_PORTS} from it, else on any
     * free port, and says so. Fails only when no port can be had at all.
     */
    public static MetricsServer openNear(Metrics metrics, String host, int preferred) throws IOException {
        int last = Math.min(preferred + NEARBY_PORTS - 1, 65535);
        for (int port = preferred; port >= 1 && port <= last; port++) {
            try {
                MetricsServer server = new MetricsServer(metrics, host, port);
                if (port != preferred) {
                    log.info("metrics port {} on {} is taken (another worker on this host?): serving /metrics on {} "
                            + "instead; set PROCQ_WORKER_METRICS_PORT to require one port", preferred, host, port);
                }
                return server;
            } catch (BindException taken) {
                // try the next one
            }
        }
        MetricsServer server = new MetricsServer(metrics, host, 0);
        if (preferred != 0) {
            log.info("metrics ports {} to {} on {} are taken: serving /metrics on {}, a port the system chose; "
                    + "set PROCQ_WORKER_METRICS_PORT to require one port", preferred, last, host, server.port());
        }
        return server;
    }

    public MetricsServer(Metrics metrics, String host, int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress(host, port), 16);
        server.createContext("/metrics", exchange -> {
            byte[] body = metrics.scrape().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", Metrics.CONTENT_TYPE);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.createContext("/healthz", exchange -> {
            byte[] body = "{\"status\":\"ok\"}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
