package dev.procq.testing;

import dev.procq.config.Settings;
import dev.procq.config.Settings.DatabaseTarget;
import dev.procq.store.Database;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * A real PostgreSQL for tests, and a fresh migrated database for each test class.
 * The server is, in order: PROCQ_TEST_DATABASE_URL when set (what .ci/run sets), a
 * Testcontainers PostgreSQL when Docker is there, else an embedded PostgreSQL.
 *
 * <pre>{@code @RegisterExtension static final PostgresExtension postgres = new PostgresExtension();}</pre>
 */
public final class PostgresExtension implements BeforeAllCallback, AfterAllCallback {
    private static Server server;

    private String databaseName;
    private DatabaseTarget target;
    private Database database;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        Server shared = server();
        databaseName = "procq_test_" + context.getRequiredTestClass().getSimpleName().toLowerCase(Locale.ROOT)
                + "_" + UUID.randomUUID().toString().substring(0, 8);
        try (Connection admin = shared.connect(); Statement statement = admin.createStatement()) {
            statement.execute("CREATE DATABASE " + databaseName);
        }
        target = shared.targetFor(databaseName);
        database = new Database(target, "test", 10);
        database.migrate();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (database != null) database.close();
        try (Connection admin = server().connect(); Statement statement = admin.createStatement()) {
            statement.execute("DROP DATABASE IF EXISTS " + databaseName + " WITH (FORCE)");
        }
    }

    public Database database() {
        return database;
    }

    public DatabaseTarget target() {
        return target;
    }

    /** Settings pointing at this class's database, plus the given variables. */
    public Settings settings(Map<String, String> extra) {
        Map<String, String> env = new java.util.HashMap<>(extra);
        env.put("PROCQ_DATABASE_URL", target.jdbcUrl());
        if (target.user() != null) env.put("PROCQ_DATABASE_USER", target.user());
        if (target.password() != null) env.put("PROCQ_DATABASE_PASSWORD", target.password());
        return new Settings(env);
    }

    /** The variables a child procq JVM needs to reach this database. */
    public Map<String, String> environment() {
        Map<String, String> env = new java.util.HashMap<>();
        env.put("PROCQ_DATABASE_URL", target.jdbcUrl());
        if (target.user() != null) env.put("PROCQ_DATABASE_USER", target.user());
        if (target.password() != null) env.put("PROCQ_DATABASE_PASSWORD", target.password());
        return env;
    }

    private static synchronized Server server() throws Exception {
        if (server == null) server = Server.start();
        return server;
    }

    /** The PostgreSQL server shared by every test class of one JVM. */
    private record Server(String adminUrl, String user, String password) {
        static Server start() throws Exception {
            String url = System.getenv("PROCQ_TEST_DATABASE_URL");
            if (url != null && !url.isBlank()) {
                DatabaseTarget given = DatabaseTarget.parse(url, System.getenv("PROCQ_TEST_DATABASE_USER"),
                        System.getenv("PROCQ_TEST_DATABASE_PASSWORD"));
                return new Server(given.jdbcUrl(), given.user(), given.password());
            }
            if (dockerAvailable()) {
                PostgreSQLContainer container = new PostgreSQLContainer("postgres:16-alpine");
                container.start();
                return new Server(container.getJdbcUrl(), container.getUsername(), container.getPassword());
            }
            EmbeddedPostgres embedded = EmbeddedPostgres.builder().start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    embedded.close();
                } catch (Exception ignored) {
                    // the JVM is exiting
                }
            }));
            return new Server(embedded.getJdbcUrl("postgres", "postgres"), "postgres", null);
        }

        private static boolean dockerAvailable() {
            try {
                return DockerClientFactory.instance().isDockerAvailable();
            } catch (Throwable e) {
                return false;
            }
        }

        Connection connect() throws SQLException {
            return DriverManager.getConnection(adminUrl, properties());
        }

        DatabaseTarget targetFor(String database) {
            // Replace the database part of jdbc:postgresql://host:port/db?params
            String base = adminUrl;
            String params = "";
            int q = base.indexOf('?');
            if (q >= 0) {
                params = base.substring(q);
                base = base.substring(0, q);
            }
            int slash = base.indexOf('/', "jdbc:postgresql://".length());
            String hostPart = slash < 0 ? base : base.substring(0, slash);
            return new DatabaseTarget(hostPart + "/" + database + params, user, password);
        }

        private Properties properties() {
            Properties properties = new Properties();
            if (user != null) properties.setProperty("user", user);
            if (password != null) properties.setProperty("password", password);
            return properties;
        }
    }
}
