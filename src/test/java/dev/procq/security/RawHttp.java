package dev.procq.security;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * HTTP/1.1 over a plain socket, for what java.net.http cannot do: send any Host header, and stream
 * a body (chunked) from a generator while reading the answer at the same time, so a server that
 * answers before the body ends is seen doing so, and the bytes actually sent are counted.
 */
final class RawHttp {
    private static final int CHUNK = 64 * 1024;

    private RawHttp() {
    }

    /** What came back, and how much of the body went out before the server answered or closed. */
    record Result(int status, Map<String, String> headers, String body, long bytesSent, boolean bodyFinished) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** A request with a fixed body (may be empty) and exactly the given headers plus Content-Length. */
    static Result send(int port, String method, String path, Map<String, String> headers, byte[] body) {
        return stream(port, method, path, headers, new java.io.ByteArrayInputStream(body), false, Duration.ofSeconds(30));
    }

    /**
     * Sends {@code body} chunked, CHUNK bytes at a time, until it ends, the server's answer is
     * complete, or the connection breaks; the answer is read concurrently from the first byte.
     */
    static Result streamChunked(int port, String path, Map<String, String> headers, InputStream body, Duration timeout) {
        return stream(port, "POST", path, headers, body, true, timeout);
    }

    private static Result stream(int port, String method, String path, Map<String, String> headers, InputStream body,
                                 boolean chunked, Duration timeout) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout((int) timeout.toMillis());
            OutputStream out = socket.getOutputStream();
            CompletableFuture<Result> answer = new CompletableFuture<>();
            AtomicLong sent = new AtomicLong();
            Thread reader = new Thread(() -> {
                try {
                    answer.complete(readResponse(socket.getInputStream(), sent));
                } catch (Throwable e) {
                    answer.completeExceptionally(e);
                }
            }, "raw-http-reader");
            reader.setDaemon(true);
            reader.start();

            StringBuilder head = new StringBuilder(method + " " + path + " HTTP/1.1\r\n");
            Map<String, String> all = new LinkedHashMap<>();
            all.put("Host", "127.0.0.1:" + port);
            all.putAll(headers);
            byte[] fixed = null;
            if (chunked) {
                all.put("Transfer-Encoding", "chunked");
            } else {
                fixed = body.readAllBytes();
                all.put("Content-Length", Integer.toString(fixed.length));
            }
            all.put("Connection", "close");
            all.forEach((name, value) -> {
                if (value != null) head.append(name).append(": ").append(value).append("\r\n");
            });
            head.append("\r\n");
            boolean finished = false;
            try {
                out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
                if (!chunked) {
                    out.write(fixed);
                    sent.addAndGet(fixed.length);
                    finished = true;
                } else {
                    byte[] buffer = new byte[CHUNK];
                    while (!answer.isDone()) {
                        int n = body.readNBytes(buffer, 0, buffer.length);
                        if (n <= 0) {
                            out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                            finished = true;
                            break;
                        }
                        out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                        out.write(buffer, 0, n);
                        out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
                        sent.addAndGet(n);
                    }
                }
                out.flush();
            } catch (IOException writeFailed) {
                // The server closed the connection after answering: the answer is still readable.
            }
            Result result = answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return new Result(result.status(), result.headers(), result.body(), result.bytesSent(), finished);
        } catch (IOException | TimeoutException e) {
            throw new IllegalStateException("no answer from the server: " + e, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("reading the answer failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static Result readResponse(InputStream in, AtomicLong sent) throws IOException {
        String statusLine = readLine(in);
        if (statusLine == null) throw new IOException("connection closed before any answer");
        long sentWhenAnswered = sent.get();
        int status = Integer.parseInt(statusLine.split(" ", 3)[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        String line;
        while ((line = readLine(in)) != null && !line.isEmpty()) {
            int colon = line.indexOf(':');
            headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            while (true) {
                String size = readLine(in);
                if (size == null) break;
                int n = Integer.parseInt(size.split(";")[0].trim(), 16);
                if (n == 0) break;
                body.write(in.readNBytes(n));
                readLine(in);
            }
        } else if (headers.containsKey("content-length")) {
            body.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
        } else {
            body.write(in.readAllBytes());
        }
        return new Result(status, headers, body.toString(StandardCharsets.UTF_8), sentWhenAnswered, false);
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') break;
            if (c != '\r') line.write(c);
        }
        if (c == -1 && line.size() == 0) return null;
        return line.toString(StandardCharsets.ISO_8859_1);
    }
}
