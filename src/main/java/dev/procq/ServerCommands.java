package dev.procq;

import dev.procq.api.ApiServer;
import dev.procq.cli.ExitCodes;
import dev.procq.config.ConfigException;
import dev.procq.config.JobTypes;
import dev.procq.config.Settings;
import dev.procq.metrics.Metrics;
import dev.procq.metrics.MetricsServer;
import dev.procq.schedule.Scheduler;
import dev.procq.store.Database;
import dev.procq.webhook.WebhookSender;
import dev.procq.worker.Worker;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** The long-running commands: dev, api, worker, migrate. Each reads its settings from the environment of its run. */
final class ServerCommands {
    private ServerCommands() {
    }

    /** The webhook sender of this process, or null when PROCQ_WEBHOOK_ALLOWLIST names no destination. */
    static WebhookSender startWebhooks(Database database, Settings settings, String component, Metrics metrics) {
        if (!settings.webhooks().enabled()) return null;
        return new WebhookSender(database.jdbi(), settings.webhooks(), component, metrics.registry())
                .start(settings.pollInterval());
    }

    @Command(name = "migrate", mixinStandardHelpOptions = true,
            description = "Apply the schema migrations (db/migration) to PROCQ_DATABASE_URL and exit.")
    static final class Migrate implements Callable<Integer> {
        @ParentCommand
        Main main;

        @Override
        public Integer call() {
            Settings settings = new Settings(main.shell().env()).requireSessionForMigrations("'procq migrate'");
            try (Database database = new Database(settings.requireDatabase("migrate"), "migrate", 2, settings.databaseTimeouts())) {
                int applied = database.migrate();
                System.out.println(applied == 0 ? "schema is up to date" : "applied " + applied + " migration(s)");
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "api", mixinStandardHelpOptions = true,
            description = {"Serve the HTTP API and the dashboard.",
                    "Applies pending migrations at start unless PROCQ_MIGRATE_ON_START=false."})
    static final class Api implements Callable<Integer> {
        @ParentCommand
        Main main;

        @Override
        public Integer call() throws Exception {
            Settings settings = new Settings(main.shell().env()).validateForApi();
            JobTypes types = JobTypes.load(settings.jobTypesFile());
            ShutdownSignals signals = new ShutdownSignals().install();
            try (Database database = new Database(settings.requireDatabase("api"), "api", settings.databasePoolSize(),
                    settings.databaseTimeouts(), settings.databasePooler())) {
                if (settings.migrateOnStart()) database.migrate();
                database.checkServerTimeouts();
                Metrics metrics = new Metrics("api");
                database.bindMetrics(metrics.registry());
                try (ApiServer api = new ApiServer(settings, database, types, metrics).start();
                     WebhookSender webhooks = startWebhooks(database, settings, "api", metrics);
                     Scheduler scheduler = Scheduler.of(database, types, settings, metrics.registry()).start()) {
                    signals.await();
                }
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "worker", mixinStandardHelpOptions = true,
            description = {"Run the worker daemon: claim PENDING jobs and run one child process per target.",
                    "SIGTERM: stop claiming, let children finish within PROCQ_SHUTDOWN_GRACE, hand the rest back."})
    static final class WorkerDaemon implements Callable<Integer> {
        @ParentCommand
        Main main;

        @Override
        public Integer call() throws Exception {
            Settings settings = new Settings(main.shell().env());
            JobTypes types = JobTypes.load(settings.jobTypesFile());
            ShutdownSignals signals = new ShutdownSignals().install();
            Metrics metrics = new Metrics("worker");
            try (Database database = new Database(settings.requireDatabase("worker"), "worker", settings.databasePoolSize(),
                    settings.databaseTimeouts(), settings.databasePooler());
                 MetricsServer metricsServer = settings.workerMetricsPort()
                         .map(port -> openMetrics(metrics, settings, port)).orElse(null)) {
                database.bindMetrics(metrics.registry());
                Worker worker = new Worker(database, types, settings, metrics.registry(),
                        metricsServer == null ? null : metricsServer.port());
                signals.onRequest(worker::requestStop);
                signals.onHurry(worker::hurry);
                worker.start();
                database.checkServerTimeouts();
                if (metricsServer != null) {
                    System.err.println("procq: worker metrics on http://" + settings.httpHost() + ":" + metricsServer.port() + "/metrics");
                }
                try (WebhookSender webhooks = startWebhooks(database, settings, "worker", metrics)) {
                    try (Scheduler scheduler = Scheduler.of(database, types, settings, metrics.registry()).start()) {
                        signals.await();
                    }
                    worker.shutdown(settings.shutdownGrace());
                }
            }
            return ExitCodes.OK;
        }

        private static MetricsServer openMetrics(Metrics metrics, Settings settings, int port) {
            String host = settings.httpHost();
            if (!settings.workerMetricsPortIsRequired()) {
                try {
                    return MetricsServer.openNear(metrics, host, port);
                } catch (IOException e) {
                    throw new ConfigException("cannot serve the worker's /metrics on " + host
                            + " (PROCQ_HTTP_HOST): " + e.getMessage() + "; set PROCQ_WORKER_METRICS_PORT=off to run without");
                }
            }
            // Set by the operator, so a scraper is pointed at it: another port would be a silent miss.
            try {
                return new MetricsServer(metrics, host, port);
            } catch (IOException e) {
                String hint = e instanceof BindException && String.valueOf(e.getMessage()).contains("in use")
                        ? "; if another worker on this host holds it, leave PROCQ_WORKER_METRICS_PORT unset to take "
                          + "the next free port, or set it to 0 for any free port"
                        : "";
                throw new ConfigException("PROCQ_WORKER_METRICS_PORT=" + port + ": cannot listen on " + host + ":" + port
                        + ": " + e.getMessage() + hint);
            }
        }
    }

    @Command(name = "dev", mixinStandardHelpOptions = true,
            description = {"Zero-setup mode: an embedded PostgreSQL (data kept in ./.procq/), the API and one worker",
                    "in one process. Uses ./jobtypes.yaml, or the built-in examples when there is none."})
    static final class Dev implements Callable<Integer> {
        @ParentCommand
        Main main;

        static final Path DATA = Path.of(".procq", "pgdata");

        @Option(names = "--data", description = "where the embedded PostgreSQL keeps its data (default: ${DEFAULT-VALUE})")
        Path data = DATA;

        @Override
        public Integer call() throws Exception {
            // Refuse a token-less listener beyond loopback before starting anything.
            Settings settings = new Settings(main.shell().env()).requireTokensBeyondLoopback();
            Files.createDirectories(data);
            ShutdownSignals signals = new ShutdownSignals().install();
            JobTypes types = devJobTypes(settings);
            System.err.println("procq: starting embedded PostgreSQL in " + data.toAbsolutePath());
            try (EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(data)
                    .setCleanDataDirectory(false)
                    .start()) {
                // The embedded server is reached directly, whatever PROCQ_DATABASE_POOLER says.
                Settings dev = settings.with(Map.of("PROCQ_DATABASE_URL", postgres.getJdbcUrl("postgres", "postgres"),
                        "PROCQ_DATABASE_USER", "postgres", "PROCQ_DATABASE_POOLER", "none")).validateForApi();
                try (Database database = new Database(dev.requireDatabase("dev"), "dev", dev.databasePoolSize(),
                        dev.databaseTimeouts())) {
                    database.migrate();
                    Metrics metrics = new Metrics("dev");
                    database.bindMetrics(metrics.registry());
                    Worker worker = new Worker(database, types, dev, metrics.registry());
                    signals.onHurry(worker::hurry);
                    try (ApiServer api = new ApiServer(dev, database, types, metrics).start();
                         WebhookSender webhooks = startWebhooks(database, dev, "dev", metrics);
                         Scheduler scheduler = Scheduler.of(database, types, dev, metrics.registry()).start()) {
                        worker.start();
                        System.out.println("procq dev is running: http://" + dev.httpHost() + ":" + api.port() + "/");
                        System.out.println("  job types: " + String.join(", ", types.names()));
                        System.out.println("  psql:      psql '" + postgres.getJdbcUrl("postgres", "postgres").replace("jdbc:", "") + "'");
                        System.out.flush();
                        signals.await();
                        worker.shutdown(dev.shutdownGrace());
                    }
                }
            }
            return ExitCodes.OK;
        }

        private static JobTypes devJobTypes(Settings settings) throws IOException {
            Path file = settings.jobTypesFile();
            if (settings.get("PROCQ_JOB_TYPES").isPresent() || Files.exists(file)) {
                return JobTypes.load(file);
            }
            try (InputStream in = Dev.class.getResourceAsStream("/jobtypes.yaml")) {
                System.err.println("procq: no " + file + ", using the built-in example job types");
                return JobTypes.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "built-in jobtypes.yaml");
            }
        }
    }
}
