package dev.procq.webhook;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A real HTTP receiver on 127.0.0.1, over a plain socket so it can misbehave the way receivers do:
 * answer 500, reset the connection, or take a request and never answer. Each request is kept with
 * whether its Procq-Signature verified (computed here, independently of procq's own code).
 */
final class WebhookReceiver implements AutoCloseable {
    enum Answer { OK, ERROR_500, RESET, STALL }

    record Received(long deliveryId, String event, String body, boolean signatureValid, long timestamp, Answer answer) {
    }

    private final ServerSocket server;
    private final String secret;
    private final Deque<Answer> script = new ConcurrentLinkedDeque<>();
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final List<Socket> stalled = new CopyOnWriteArrayList<>();
    final CountDownLatch stallReached = new CountDownLatch(1);
    private final Thread acceptor;

    WebhookReceiver(String secret, Answer... firstAnswers) throws IOException {
        this.secret = secret;
        this.script.addAll(List.of(firstAnswers));
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::acceptAll, "webhook-receiver");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    String url(String path) {
        return "http://127.0.0.1:" + server.getLocalPort() + path;
    }

    List<Received> received() {
        return new ArrayList<>(received);
    }

    /** What a receiver that drops duplicates by delivery id keeps: the requests it answered 2xx, once per id. */
    Map<Long, Received> deduplicated() {
        Map<Long, Received> byId = new HashMap<>();
        for (Received r : received) if (r.answer() == Answer.OK) byId.putIfAbsent(r.deliveryId(), r);
        return byId;
    }

    private void acceptAll() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                Thread handler = new Thread(() -> handle(socket), "webhook-receiver-conn");
                handler.setDaemon(true);
                handler.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void handle(Socket socket) {
        try {
            InputStream in = socket.getInputStream();
            Map<String, String> headers = new HashMap<>();
            String line;
            readLine(in);
            while (!(line = readLine(in)).isEmpty()) {
                int colon = line.indexOf(':');
                headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
            byte[] body = in.readNBytes(Integer.parseInt(headers.getOrDefault("content-length", "0")));
            Answer answer = script.isEmpty() ? Answer.OK : script.poll();
            String signature = headers.getOrDefault("procq-signature", "");
            long t = -1;
            String v1 = "";
            for (String part : signature.split(",")) {
                if (part.startsWith("t=")) t = Long.parseLong(part.substring(2));
                if (part.startsWith("v1=")) v1 = part.substring(3);
            }
            boolean valid = t > 0 && hmac(t + "." + new String(body, StandardCharsets.UTF_8)).equals(v1);
            received.add(new Received(Long.parseLong(headers.get("procq-delivery")), headers.get("procq-event"),
                    new String(body, StandardCharsets.UTF_8), valid, t, answer));
            OutputStream out = socket.getOutputStream();
            switch (answer) {
                case OK -> respond(socket, out, "200 OK");
                case ERROR_500 -> respond(socket, out, "500 Internal Server Error");
                case RESET -> {
                    socket.setSoLinger(true, 0);
                    socket.close();
                }
                case STALL -> {
                    stalled.add(socket);
                    stallReached.countDown();
                }
            }
        } catch (IOException | RuntimeException e) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // gone already
            }
        }
    }

    private static void respond(Socket socket, OutputStream out, String status) throws IOException {
        out.write(("HTTP/1.1 " + status + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        socket.close();
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1 && b != '\n') if (b != '\r') line.write(b);
        if (b == -1 && line.size() == 0) throw new IOException("connection closed");
        return line.toString(StandardCharsets.US_ASCII);
    }

    private String hmac(String text) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return java.util.HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket socket : stalled) socket.close();
    }
}
