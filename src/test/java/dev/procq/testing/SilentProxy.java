package dev.procq.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on 127.0.0.1 that can cut the path silently, as a firewall rule that drops packets
 * or a dead switch does: while {@link #drop() dropped}, bytes in either direction are read and
 * thrown away and nothing is closed, so neither end sees an error; new connections are accepted
 * and then hear nothing. {@link #heal()} forwards again (what was dropped stays lost, so
 * connections that were in use are broken for good, as after a real partition).
 */
public final class SilentProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final InetSocketAddress upstream;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean dropping;
    private volatile boolean closed;

    public SilentProxy(String upstreamHost, int upstreamPort) {
        this.upstream = new InetSocketAddress(upstreamHost, upstreamPort);
        try {
            listener = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread acceptor = new Thread(this::accept, "silent-proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A proxy in front of the server a {@code jdbc:postgresql://host:port/db} URL names. */
    public static SilentProxy inFrontOf(String jdbcUrl) {
        java.util.regex.Matcher hostAndPort = java.util.regex.Pattern.compile("//([^/:,]+)(?::(\\d+))?/").matcher(jdbcUrl);
        if (!hostAndPort.find()) throw new IllegalArgumentException("no single host:port in " + jdbcUrl);
        return new SilentProxy(hostAndPort.group(1),
                hostAndPort.group(2) == null ? 5432 : Integer.parseInt(hostAndPort.group(2)));
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** {@code jdbcUrl} with its host and port replaced by this proxy's. */
    public String rewrite(String jdbcUrl) {
        return jdbcUrl.replaceFirst("//[^/]+/", "//127.0.0.1:" + port() + "/");
    }

    public void drop() {
        dropping = true;
    }

    public void heal() {
        dropping = false;
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket();
                server.connect(upstream, 5_000);
                sockets.add(client);
                sockets.add(server);
                pump(client, server, "up");
                pump(server, client, "down");
            } catch (IOException e) {
                if (closed) return;
            }
        }
    }

    private void pump(Socket from, Socket to, String direction) {
        Thread thread = new Thread(() -> {
            byte[] buffer = new byte[65536];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int count;
                while ((count = in.read(buffer)) >= 0) {
                    if (!dropping) {
                        out.write(buffer, 0, count);
                        out.flush();
                    }
                }
            } catch (IOException ignored) {
                // one side closed: the other follows below
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "silent-proxy-" + direction);
        thread.setDaemon(true);
        thread.start();
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // already closed
        }
        sockets.forEach(SilentProxy::closeQuietly);
    }
}
