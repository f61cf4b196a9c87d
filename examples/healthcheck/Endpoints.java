import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * Endpoints for the health-check example, on 127.0.0.1 only: GET /STATUS/DELAY_MS/NAME
 * answers STATUS after DELAY_MS milliseconds, e.g. /200/1000/api-17 or /503/0/db.
 *
 *   java examples/healthcheck/Endpoints.java [PORT]     (0 or none: any free port)
 *
 * Prints its base URL on the first line of stdout. One thread per open request, so 500
 * slow requests at once wait side by side.
 */
public class Endpoints {
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 4096);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", exchange -> {
            int status;
            long delayMs;
            try {
                String[] parts = exchange.getRequestURI().getPath().split("/");
                status = Integer.parseInt(parts[1]);
                delayMs = Long.parseLong(parts[2]);
                if (status < 100 || status > 599 || delayMs < 0) throw new IllegalArgumentException();
            } catch (RuntimeException e) {
                status = 400;
                delayMs = 0;
            }
            try {
                Thread.sleep(delayMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] body = (status + "\n").getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        System.out.println("http://127.0.0.1:" + server.getAddress().getPort());
        System.out.flush();
    }
}
