package dev.procq.testing;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A PostgreSQL primary and a synchronous streaming standby of it, each its own server on a free
 * port of 127.0.0.1 with its data in a temporary directory, built with the machine's own
 * initdb, pg_ctl and pg_basebackup. Commits on the primary wait until the standby has the WAL on
 * disk, so a promoted standby has everything the primary ever acknowledged. Nothing of the
 * machine's shared PostgreSQL is touched.
 *
 * <p>PostgreSQL refuses to run as root, so when the tests do, the servers run as {@code nobody}
 * (through runuser) with data directories owned by it. {@link #close()} stops whatever is still
 * running and deletes the directories; a shutdown hook does the same if the JVM ends first.
 */
public final class ReplicatedPostgres implements AutoCloseable {
    public static final String DATABASE = "procq";
    public static final String USER = "postgres";
    /** The standby's application_name, which synchronous_standby_names waits for. */
    static final String STANDBY_NAME = "procq_standby";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final String RUN_AS = "nobody";

    private final Path bin;
    private final Path root;
    private final Path primaryData;
    private final Path standbyData;
    private final int primaryPort;
    private final int standbyPort;
    private final Thread cleanup = new Thread(this::stopQuietly, "replicated-postgres-cleanup");

    private ReplicatedPostgres(Path bin) throws IOException {
        this.bin = bin;
        this.root = Files.createTempDirectory("procq-replicated-");
        if (runningAsRoot()) {
            UserPrincipal nobody = root.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(RUN_AS);
            Files.setOwner(root, nobody);
        }
        this.primaryData = root.resolve("primary");
        this.standbyData = root.resolve("standby");
        this.primaryPort = freePort();
        int second = freePort();
        while (second == primaryPort) second = freePort();
        this.standbyPort = second;
        Runtime.getRuntime().addShutdownHook(cleanup);
    }

    /** The directory of the newest PostgreSQL server binaries installed here, if any. */
    public static Optional<Path> binaries() {
        Path installed = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(installed)) return Optional.empty();
        try (Stream<Path> versions = Files.list(installed)) {
            return versions.map(version -> version.resolve("bin"))
                    .filter(dir -> Stream.of("initdb", "pg_ctl", "pg_basebackup", "postgres")
                            .allMatch(tool -> Files.isExecutable(dir.resolve(tool))))
                    .max(Comparator.comparingInt(dir -> versionOf(dir.getParent())));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static int versionOf(Path versionDir) {
        try {
            return Integer.parseInt(versionDir.getFileName().toString());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Starts the primary and the standby, and returns once the standby streams synchronously. */
    public static ReplicatedPostgres start(Path bin) throws Exception {
        ReplicatedPostgres servers = new ReplicatedPostgres(bin);
        try {
            servers.startBoth();
            return servers;
        } catch (Exception | AssertionError e) {
            servers.close();
            throw e;
        }
    }

    private void startBoth() throws Exception {
        run("initdb", "-D", primaryData.toString(), "-U", USER, "-A", "trust", "--no-sync", "-E", "UTF8");
        append(primaryData.resolve("postgresql.conf"), """
                listen_addresses = '127.0.0.1'
                port = %d
                unix_socket_directories = ''
                wal_level = replica
                max_wal_senders = 5
                wal_keep_size = '256MB'
                synchronous_standby_names = '%s'
                synchronous_commit = on
                hot_standby = on
                max_connections = 100
                shared_buffers = '32MB'
                # The test kills servers, never the host: the page cache survives, so fsync buys nothing here.
                fsync = off
                """.formatted(primaryPort, STANDBY_NAME));
        pgCtl("start", primaryData, "-l", root.resolve("primary.log").toString(), "-w", "-t", "60");

        run("pg_basebackup", "-h", "127.0.0.1", "-p", Integer.toString(primaryPort), "-U", USER,
                "-D", standbyData.toString(), "-R", "-X", "stream", "-c", "fast", "--no-sync");
        // postgresql.auto.conf is read last, so these win over what the backup copied.
        append(standbyData.resolve("postgresql.auto.conf"), """
                port = %d
                primary_conninfo = 'host=127.0.0.1 port=%d user=%s application_name=%s'
                # Once promoted it is alone: with the primary's setting its commits would wait forever.
                synchronous_standby_names = ''
                """.formatted(standbyPort, primaryPort, USER, STANDBY_NAME));
        pgCtl("start", standbyData, "-l", root.resolve("standby.log").toString(), "-w", "-t", "60");

        await().atMost(START_TIMEOUT).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> "sync".equals(queryPrimary(
                        "SELECT sync_state FROM pg_stat_replication WHERE application_name = '" + STANDBY_NAME + "'")));
        try (Connection admin = connect(primaryPort, "postgres"); Statement statement = admin.createStatement()) {
            statement.execute("CREATE DATABASE " + DATABASE);
        }
    }

    public int primaryPort() {
        return primaryPort;
    }

    public int standbyPort() {
        return standbyPort;
    }

    /** Both servers, primary first, as procq's PROCQ_DATABASE_URL names them. */
    public String multiHostUrl() {
        return "jdbc:postgresql://127.0.0.1:" + primaryPort + ",127.0.0.1:" + standbyPort + "/" + DATABASE;
    }

    /** A plain connection to one of the two servers, to look at it directly. */
    public Connection connect(int port) throws SQLException {
        return connect(port, DATABASE);
    }

    private static Connection connect(int port, String database) throws SQLException {
        Properties properties = new Properties();
        properties.setProperty("user", USER);
        properties.setProperty("connectTimeout", "5");
        properties.setProperty("socketTimeout", "30");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database, properties);
    }

    private String queryPrimary(String sql) throws SQLException {
        try (Connection connection = connect(primaryPort, "postgres"); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery(sql)) {
            return rows.next() ? rows.getString(1) : null;
        }
    }

    /** The primary dies at once, as on a crash: no checkpoint, every connection cut. */
    public void stopPrimaryImmediately() throws IOException, InterruptedException {
        pgCtl("stop", primaryData, "-m", "immediate", "-w", "-t", "30");
    }

    /** Ends recovery on the standby and waits until it takes writes. */
    public void promoteStandby() throws IOException, InterruptedException {
        pgCtl("promote", standbyData, "-w", "-t", "60");
    }

    /** The tail of a server's log, for failure messages. */
    public String logTail(boolean primary) {
        try {
            List<String> lines = Files.readAllLines(root.resolve(primary ? "primary.log" : "standby.log"),
                    StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private void pgCtl(String action, Path data, String... options) throws IOException, InterruptedException {
        List<String> arguments = new ArrayList<>(List.of(action, "-D", data.toString()));
        arguments.addAll(List.of(options));
        run("pg_ctl", arguments.toArray(String[]::new));
    }

    private void run(String tool, String... arguments) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        if (runningAsRoot()) command.addAll(List.of("runuser", "-u", RUN_AS, "--"));
        command.add(bin.resolve(tool).toString());
        command.addAll(List.of(arguments));
        Path output = Files.createTempFile("procq-pg-tool-", ".log");
        try {
            Process process = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true)
                    .redirectOutput(output.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            if (!process.waitFor(90, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish within 90 s");
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " exited with " + process.exitValue() + ":\n"
                        + Files.readString(output, StandardCharsets.UTF_8));
            }
        } finally {
            Files.deleteIfExists(output);
        }
    }

    private static void append(Path file, String text) throws IOException {
        Files.writeString(file, "\n" + text, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
    }

    private static boolean runningAsRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** Stops both servers (whichever still run) and deletes their directories. */
    @Override
    public void close() {
        stopQuietly();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run: nothing to remove
        }
    }

    private synchronized void stopQuietly() {
        for (Path data : List.of(standbyData, primaryData)) {
            if (Files.exists(data.resolve("postmaster.pid"))) {
                try {
                    pgCtl("stop", data, "-m", "immediate", "-w", "-t", "30");
                } catch (IOException | RuntimeException e) {
                    System.err.println("could not stop the PostgreSQL server in " + data + ": " + e.getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        deleteTree(root);
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException ignored) {
                    // best effort: a temporary directory
                }
            });
        } catch (IOException | UncheckedIOException ignored) {
            // best effort
        }
    }
}
