package dev.procq.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;
import dev.procq.config.DatabasePooler;
import dev.procq.config.DatabaseTimeouts;
import dev.procq.config.Settings.DatabaseTarget;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Optional;
import java.util.Properties;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.postgres.PostgresPlugin;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The connection pool, Jdbi and the migrations: everything else in procq gets the database from here. */
public final class Database implements AutoCloseable {
    /** Migrations ship inside the jar from the repository's db/migration folder. */
    public static final String MIGRATIONS = "classpath:db/migration";
    /** Fail a checkout fast while PostgreSQL is down, so the API can answer 503 instead of hanging. */
    private static final long CONNECTION_TIMEOUT_MS = 3_000;
    private static final Logger log = LoggerFactory.getLogger(Database.class);
    /**
     * pgjdbc's targetServerType for a URL with several hosts: each new connection tries them in
     * order and keeps the first that is not in recovery. pgjdbc remembers each host's role for
     * hostRecheckSeconds (10 s by default), and when none is known to fit it tries them all again,
     * so a standby promoted a moment ago is found at once.
     */
    static final String PRIMARY = "primary";

    private final DatabaseTarget target;
    private final DatabaseTimeouts timeouts;
    private final DatabasePooler pooler;
    private final HikariDataSource dataSource;
    private final Jdbi jdbi;

    public Database(DatabaseTarget target, String poolName, int poolSize) {
        this(target, poolName, poolSize, DatabaseTimeouts.DEFAULT);
    }

    public Database(DatabaseTarget target, String poolName, int poolSize, DatabaseTimeouts timeouts) {
        this(target, poolName, poolSize, timeouts, DatabasePooler.NONE);
    }

    public Database(DatabaseTarget target, String poolName, int poolSize, DatabaseTimeouts timeouts,
                    DatabasePooler pooler) {
        this.target = target;
        this.timeouts = timeouts;
        this.pooler = pooler;
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(target.jdbcUrl());
        if (target.user() != null) config.setUsername(target.user());
        if (target.password() != null) config.setPassword(target.password());
        config.setPoolName(poolName);
        config.setMaximumPoolSize(poolSize);
        config.setMinimumIdle(1);
        config.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
        config.setValidationTimeout(2_000);
        config.setExceptionOverride(new ReadOnlyServerEviction());
        // Start even when PostgreSQL is not up yet: the worker waits and the API answers 503.
        config.setInitializationFailTimeout(-1);
        config.addDataSourceProperty("reWriteBatchedInserts", "true");
        config.addDataSourceProperty("ApplicationName", "procq-" + poolName);
        connectionProperties(target, timeouts, pooler).forEach((name, value) -> config.addDataSourceProperty((String) name, value));
        this.dataSource = new HikariDataSource(config);
        this.jdbi = Jdbi.create(dataSource)
                .installPlugin(new SqlObjectPlugin())
                .installPlugin(new PostgresPlugin());
    }

    public Jdbi jdbi() {
        return jdbi;
    }

    public DataSource dataSource() {
        return dataSource;
    }

    /**
     * Publishes the pool's meters (hikaricp_connections_active, _pending, _timeout_total, ...,
     * tagged pool=NAME) to the registry. Once per Database: HikariCP allows one tracker.
     */
    public Database bindMetrics(MeterRegistry registry) {
        dataSource.setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(registry));
        return this;
    }

    public DatabaseTarget target() {
        return target;
    }

    public DatabaseTimeouts timeouts() {
        return timeouts;
    }

    public DatabasePooler pooler() {
        return pooler;
    }

    /**
     * The driver settings that bound every wait: connect and login, a read timeout a little past
     * the server's statement timeout, TCP keepalive for idle connections, and the server-side
     * statement and lock timeouts for every statement of the session. A URL that names several
     * servers connects to the primary among them, unless it says otherwise: pgjdbc lets a
     * parameter in the URL win over these properties.
     *
     * <p>Behind a transaction-mode pooler a session is not procq's: PgBouncer refuses the
     * {@code options} startup parameter (and would drop it if told to ignore it), so the server-side
     * timeouts must come from the role there (checked by {@link #checkServerTimeouts}); and a named
     * prepared statement, which pgjdbc makes of a statement run five times, would be parsed on one
     * server session and executed on another ("prepared statement S_1 does not exist"), so pgjdbc
     * sends every statement unnamed.
     */
    static Properties connectionProperties(DatabaseTarget target, DatabaseTimeouts timeouts, DatabasePooler pooler) {
        Properties properties = new Properties();
        if (target.namesSeveralHosts()) properties.setProperty(DatabaseTarget.SERVER_TYPE, PRIMARY);
        properties.setProperty("connectTimeout", DatabaseTimeouts.seconds(timeouts.connect()));
        properties.setProperty("loginTimeout", DatabaseTimeouts.seconds(timeouts.connect().multipliedBy(2)));
        properties.setProperty("socketTimeout", DatabaseTimeouts.seconds(timeouts.socket()));
        properties.setProperty("tcpKeepAlive", "true");
        if (pooler.sharesServerSessions()) {
            properties.setProperty("prepareThreshold", "0");
        } else {
            properties.setProperty("options", timeouts.serverOptions());
        }
        return properties;
    }

    /**
     * Reads back the statement and lock timeouts the server gives this pool's sessions and logs a
     * warning when they leave a wait unbounded; empty when the server cannot be asked right now.
     * Behind PgBouncer they come from the role or database settings, not from procq, so a missing
     * {@code ALTER ROLE ... SET statement_timeout} shows here at start-up.
     */
    public Optional<ServerTimeouts> checkServerTimeouts() {
        ServerTimeouts server;
        try {
            server = jdbi.withExtension(SessionSettingsDao.class, SessionSettingsDao::timeouts);
        } catch (RuntimeException e) {
            log.info("could not read the server's statement and lock timeouts yet: {}", e.getMessage());
            return Optional.empty();
        }
        server.problem(timeouts, pooler).ifPresent(log::warn);
        return Optional.of(server);
    }

    /**
     * Applies pending migrations; returns how many ran. Flyway gets connections of its own, which
     * end with it: their sessions hide PostgreSQL's NOTICEs, which a pooled session must not keep.
     */
    public int migrate() {
        if (pooler.sharesServerSessions()) {
            throw new IllegalStateException("migrations need a direct connection to PostgreSQL, not PROCQ_DATABASE_POOLER="
                    + pooler.setting());
        }
        PGSimpleDataSource migrations = new PGSimpleDataSource();
        migrations.setURL(target.jdbcUrl());
        if (target.user() != null) migrations.setUser(target.user());
        if (target.password() != null) migrations.setPassword(target.password());
        migrations.setApplicationName("procq-migrate");
        connectionProperties(target, timeouts, pooler).forEach((name, value) -> {
            try {
                migrations.setProperty((String) name, (String) value);
            } catch (SQLException e) {
                throw new IllegalStateException("pgjdbc refuses its own property " + name, e);
            }
        });
        // Flyway logs every NOTICE as a WARN ("DB: schema "procq" already exists, skipping": it
        // creates the schema itself before V1, whose CREATE SCHEMA IF NOT EXISTS must stay as
        // applied). A NOTICE is no warning; PostgreSQL's WARNINGs still come through.
        migrations.setOptions(migrations.getOptions() + " -c client_min_messages=warning");
        return migrate(migrations);
    }

    private static int migrate(DataSource dataSource) {
        MigrateResult result = Flyway.configure()
                .dataSource(dataSource)
                .locations(MIGRATIONS)
                .schemas("procq")
                .createSchemas(true)
                .table("flyway_schema_history")
                .load()
                .migrate();
        return result.migrationsExecuted;
    }

    /** True when a trivial query succeeds within a second or two. */
    public boolean isReachable() {
        try (Connection connection = dataSource.getConnection()) {
            return connection.isValid(2);
        } catch (SQLException e) {
            return false;
        }
    }

    /**
     * A connection of its own, outside the pool, LISTENing for jobs: a listening connection must
     * stay open and unshared for as long as the worker runs.
     */
    public NotificationConnection listenForJobs() throws SQLException {
        if (pooler.sharesServerSessions()) {
            throw new IllegalStateException("no session of its own behind PROCQ_DATABASE_POOLER=" + pooler.setting());
        }
        Connection connection = openDedicatedConnection("listen", timeouts);
        try {
            return new NotificationConnection(connection);
        } catch (SQLException e) {
            connection.close();
            throw e;
        }
    }

    /** A connection of its own, outside the pool, named {@code procq-NAME} in pg_stat_activity. */
    private Connection openDedicatedConnection(String name, DatabaseTimeouts bounds) throws SQLException {
        Properties properties = connectionProperties(target, bounds, pooler);
        if (target.user() != null) properties.setProperty("user", target.user());
        if (target.password() != null) properties.setProperty("password", target.password());
        properties.setProperty("ApplicationName", "procq-" + name);
        return DriverManager.getConnection(target.jdbcUrl(), properties);
    }

    /**
     * Jdbi over one connection of its own, opened on first use and again after {@link
     * SingleConnection#discard()}: for work that must never wait for a pooled connection, nor for a
     * pool's back-off between reconnection attempts after an outage.
     */
    public SingleConnection singleConnection(String name, DatabaseTimeouts bounds) {
        return new SingleConnection(() -> openDedicatedConnection(name, bounds));
    }

    @Override
    public void close() {
        dataSource.close();
    }
}
