package dev.procq.testing;

import static org.awaitility.Awaitility.await;

import dev.procq.config.Settings.DatabaseTarget;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real PgBouncer (Debian's /usr/sbin/pgbouncer) in front of one database of the test
 * PostgreSQL, on a free port of 127.0.0.1, with its configuration in a directory of the test's
 * own; {@link #close} stops it. PgBouncer refuses to run as root, so under root it runs as
 * {@code nobody}. Its log is in {@link #log()}.
 */
public final class PgBouncer implements AutoCloseable {
    public static final Path BINARY = Path.of("/usr/sbin/pgbouncer");
    private static final Pattern HOST_AND_PORT = Pattern.compile("^jdbc:postgresql://([^/:?,]+)(?::(\\d+))?/");

    private final Process process;
    private final Path logFile;
    private final int port;
    private final String database;
    private final String user;
    private final String password;

    private PgBouncer(Process process, Path logFile, int port, String database, String user, String password) {
        this.process = process;
        this.logFile = logFile;
        this.port = port;
        this.database = database;
        this.user = user;
        this.password = password;
    }

    public static boolean installed() {
        return Files.isExecutable(BINARY);
    }

    /** The [pgbouncer] settings every instance gets unless {@code settings} overrides them. */
    public static Map<String, String> defaults() {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("pool_mode", "transaction");
        settings.put("max_client_conn", "50");
        settings.put("default_pool_size", "3");
        settings.put("min_pool_size", "0");
        settings.put("reserve_pool_size", "0");
        settings.put("log_connections", "0");
        settings.put("log_disconnections", "0");
        return settings;
    }

    /**
     * Starts PgBouncer for {@code server}'s database, logging in as {@code user} (with
     * {@code password}, if any, which PgBouncer also uses towards PostgreSQL). Clients are trusted.
     */
    public static PgBouncer start(Path directory, DatabaseTarget server, String database, String user, String password,
                                  Map<String, String> settings) {
        Matcher address = HOST_AND_PORT.matcher(server.jdbcUrl());
        if (!address.find()) throw new IllegalArgumentException("no host in " + server.jdbcUrl());
        String host = address.group(1);
        String serverPort = address.group(2) == null ? "5432" : address.group(2);
        int port = freePort();
        Map<String, String> all = defaults();
        all.putAll(settings);
        try {
            Path users = directory.resolve("users.txt");
            Files.writeString(users, quoted(user) + " " + quoted(password == null ? "" : password) + "\n");
            StringBuilder ini = new StringBuilder();
            ini.append("[databases]\n").append(database).append(" = host=").append(host).append(" port=")
                    .append(serverPort).append(" dbname=").append(database).append('\n');
            ini.append("[pgbouncer]\n");
            ini.append("listen_addr = 127.0.0.1\n").append("listen_port = ").append(port).append('\n');
            ini.append("unix_socket_dir =\n");
            ini.append("auth_type = trust\n").append("auth_file = ").append(users).append('\n');
            all.forEach((name, value) -> ini.append(name).append(" = ").append(value).append('\n'));
            Path config = directory.resolve("pgbouncer.ini");
            Files.writeString(config, ini);
            Path log = directory.resolve("pgbouncer.log");
            List<String> command = new ArrayList<>(List.of(BINARY.toString()));
            // It reads the configuration and the auth file before it switches to nobody, so they may
            // stay private to the test.
            if (runningAsRoot()) command.addAll(List.of("-u", "nobody"));
            command.add(config.toString());
            // Not daemonized, without a logfile setting: it logs to the stderr it inherits, which
            // needs no permission of its own once it has become nobody.
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            PgBouncer bouncer = new PgBouncer(process, log, port, database, user, password);
            bouncer.awaitListening(Duration.ofSeconds(10));
            return bouncer;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Where procq reaches the database through this PgBouncer. */
    public DatabaseTarget target() {
        return new DatabaseTarget(jdbcUrl(), user, password);
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    public int port() {
        return port;
    }

    /** Everything PgBouncer logged so far. */
    public String log() {
        try {
            return Files.readString(logFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                process.destroy();
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void awaitListening(Duration timeout) {
        try {
            await().atMost(timeout).pollInterval(Duration.ofMillis(20))
                    .failFast("pgbouncer exited at start", () -> !process.isAlive())
                    .until(this::acceptsConnections);
        } catch (RuntimeException | AssertionError e) {
            close();
            throw new IllegalStateException("pgbouncer did not start on port " + port + ":\n" + log(), e);
        }
    }

    private boolean acceptsConnections() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException notYet) {
            return false;
        }
    }

    private static boolean runningAsRoot() throws IOException {
        return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String quoted(String value) {
        return "\"" + value.replace("\"", "\"\"") + "\"";
    }
}
