package dev.procq.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.procq.config.JobTypes;
import dev.procq.config.Settings;
import dev.procq.config.SubmissionLimits;
import dev.procq.intake.DuplicateKey;
import dev.procq.intake.Intake;
import dev.procq.intake.IntakeException;

import dev.procq.metrics.Metrics;
import dev.procq.schedule.Schedules;
import dev.procq.store.Database;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import io.javalin.security.Roles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The HTTP API and dashboard. Every route is listed in {@link #routes}; errors are mapped in {@link #errors}. */
public final class ApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
    /** How much longer than PROCQ_SUBMISSION_TIMEOUT the COPY itself may run. */
    static final Duration COPY_TIMEOUT_MARGIN = Duration.ofSeconds(10);
    /** Writes the answers and reads every JSON body besides a submission's (which intake streams). */
    static final ObjectMapper JSON = JsonMapper.builder()
            .addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .enable(DuplicateKey.FEATURE)
            .build();
    /**
     * The API's OpenAPI 3.1 document, written by hand next to the code it describes (OpenApiTest
     * holds the two together), so that it says what the server promises rather than what a
     * generator could guess from handlers that take a Context.
     */
    public static final String OPENAPI_RESOURCE = "/openapi.json";

    private final Settings settings;
    private final Database database;
    private final Metrics metrics;
    private final TokenAuth auth;
    private final BatchHandlers batches;
    private final JobHandlers jobs;
    private final TypeHandlers jobTypes;
    private final WorkerHandlers workers;
    private final ScheduleHandlers schedules;
    private final byte[] openApi = openApiDocument();
    private final Javalin app;

    public ApiServer(Settings settings, Database database, JobTypes types, Metrics metrics) {
        this.settings = settings.requireTokensBeyondLoopback();
        this.database = database;
        this.metrics = metrics;
        this.auth = new TokenAuth(settings.scopedApiTokens(), settings.httpHost());
        SubmissionLimits limits = settings.submissionLimits();
        // The COPY's own timeout outlasts the client's deadline, so a slow upload ends as 408 here.
        Duration copyAtLeast = limits.timeout().plus(COPY_TIMEOUT_MARGIN);
        Duration statement = database.timeouts().statement();
        Intake intake = Intake.of(database.jdbi(), types, settings, copyAtLeast.compareTo(statement) > 0 ? copyAtLeast : statement);
        this.batches = new BatchHandlers(database.jdbi(), intake, types, limits);
        this.jobs = new JobHandlers(database.jdbi());
        this.jobTypes = new TypeHandlers(database.jdbi(), types);
        this.workers = new WorkerHandlers(database.jdbi());
        this.schedules = new ScheduleHandlers(new Schedules(database.jdbi(), intake, java.time.Clock.systemUTC()));
        new JobGauges(database.jdbi(), types.names()).bindTo(metrics.registry());
        this.app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.jsonMapper(new JavalinJackson(JSON, false));
            config.jetty.host = settings.httpHost();
            config.jetty.port = settings.httpPort();
            config.staticFiles.add(Dashboard::files);
            routes(config.routes);
            errors(config.routes);
        });
    }

    /**
     * Every route with the {@link Access} it needs (one each; a route without one is refused to
     * everyone, and ScopesTest fails). Every /api path, matched or not, needs a valid token first.
     */
    private void routes(io.javalin.config.RoutesConfig routes) {
        routes.before("/api/*", auth::authenticate);
        routes.beforeMatched(auth::authorize);
        routes.post("/api/v1/batches", batches::create, Access.SUBMIT);
        routes.get("/api/v1/batches", batches::list, Access.READ);
        routes.get("/api/v1/batches/{id}", batches::get, Access.READ);
        routes.get("/api/v1/batches/{id}/jobs", batches::jobs, Access.READ);
        routes.get("/api/v1/batches/{id}/throughput", batches::throughput, Access.READ);
        routes.get("/api/v1/batches/{id}/webhooks", batches::webhooks, Access.READ);
        routes.get("/api/v1/throughput", batches::queueThroughput, Access.READ);
        routes.post("/api/v1/batches/{id}/cancel", batches::cancel, Access.STEER);
        routes.post("/api/v1/batches/{id}/retry", batches::retry, Access.STEER);
        routes.post("/api/v1/batches/{id}/pause", batches::pause, Access.STEER);
        routes.post("/api/v1/batches/{id}/resume", batches::resume, Access.STEER);
        routes.get("/api/v1/jobs/{id}", jobs::get, Access.READ);
        routes.get("/api/v1/types", jobTypes::list, Access.READ);
        routes.patch("/api/v1/types/{name}", jobTypes::update, Access.ADMIN);
        routes.get("/api/v1/workers", workers::list, Access.READ);
        routes.post("/api/v1/schedules", schedules::create, Access.SUBMIT);
        routes.get("/api/v1/schedules", schedules::list, Access.READ);
        routes.get("/api/v1/schedules/{id}", schedules::get, Access.READ);
        routes.patch("/api/v1/schedules/{id}", schedules::update, Access.STEER);
        routes.delete("/api/v1/schedules/{id}", schedules::delete, Access.STEER);
        routes.get("/healthz", ctx -> ctx.json(Map.of("status", "ok")), Access.PUBLIC);
        routes.get("/readyz", this::ready, Access.PUBLIC);
        routes.get("/metrics", ctx -> ctx.contentType(Metrics.CONTENT_TYPE).result(metrics.scrape()), Access.PUBLIC);
        // Public like /healthz: it holds no data, and a client needs it before it has a token.
        routes.get("/openapi.json", ctx -> ctx.contentType("application/json").result(openApi), Access.PUBLIC);
    }

    /** A route and what it needs; {@code access} is null for a route listed without one. */
    public record RouteRule(String method, String path, Access access) {
    }

    /** Every route the server answers, with its Access rule: for tests and for docs. */
    public List<RouteRule> routeRules() {
        return app.unsafe.internalRouter.allHttpHandlers().stream()
                .map(parsed -> parsed.endpoint)
                .filter(endpoint -> endpoint.method.isHttpMethod())
                .map(endpoint -> {
                    Roles roles = endpoint.metadata(Roles.class);
                    return new RouteRule(endpoint.method.name(), endpoint.path,
                            roles == null ? null : Access.of(roles.getRoles()));
                })
                .toList();
    }

    private static byte[] openApiDocument() {
        try (InputStream in = ApiServer.class.getResourceAsStream(OPENAPI_RESOURCE)) {
            if (in == null) throw new IllegalStateException(OPENAPI_RESOURCE + " is missing from the classpath");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void errors(io.javalin.config.RoutesConfig routes) {
        routes.exception(IntakeException.class, (e, ctx) -> error(ctx, e.status(), e.getMessage(), e.detail()));
        routes.exception(ApiError.class, (e, ctx) -> error(ctx, e.status(), e.getMessage(), e.detail()));
        // Javalin's own refusals (a body past maxRequestSize on PATCH /types or resume, say) in the API's
        // shape; a 404 or 405 is worded by its error handler below.
        routes.exception(HttpResponseException.class, (e, ctx) -> {
            if (e.getStatus() == 404 || e.getStatus() == 405) ctx.status(e.getStatus());
            else error(ctx, e.getStatus(), e.getMessage(), e.getDetails());
        });
        routes.exception(Exception.class, (e, ctx) -> {
            if (isDatabaseUnavailable(e)) {
                error(ctx, 503, "database unavailable; try again shortly", Map.of());
                ctx.header("Retry-After", "2");
                return;
            }
            // The client sees an id to quote, never a stack trace or SQL.
            String incident = UUID.randomUUID().toString();
            log.error("unhandled error in {} {} (incident {})", ctx.method(), ctx.path(), incident, e);
            error(ctx, 500, "internal error", Map.of("incident", incident));
        });
        routes.error(404, ctx -> {
            // Javalin's own "Endpoint ... not found" is plain text; a handler's 404 is JSON already.
            String type = ctx.res().getContentType();
            if (type == null || !type.startsWith("application/json")) error(ctx, 404, "no such endpoint: " + ctx.path(), Map.of());
        });
        routes.error(405, ctx -> error(ctx, 405, "method not allowed", Map.of()));
    }

    private static void error(Context ctx, int status, String message, Object detail) {
        ctx.status(status).json(new Views.Error(message, detail));
    }

    /**
     * True when the failure is PostgreSQL being unreachable rather than a bug: no connection (08),
     * the server shutting down (57P), or a server that takes no writes (25006: a standby or a
     * primary being demoted, mid-failover; the pool drops that connection, so a retry finds the primary).
     */
    static boolean isDatabaseUnavailable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLTransientConnectionException) return true;
            if (t instanceof SQLException sql && sql.getSQLState() != null
                    && (sql.getSQLState().startsWith("08") || sql.getSQLState().startsWith("57P")
                        || sql.getSQLState().equals("25006"))) {
                return true;
            }
            if (t.getCause() == t) break;
        }
        return false;
    }

    private void ready(Context ctx) {
        if (database.isReachable()) {
            ctx.json(Map.of("status", "ready"));
        } else {
            ctx.status(503).json(new Views.Error("database unreachable", Map.of()));
        }
    }

    public ApiServer start() {
        app.start();
        log.info("procq API listening on http://{}:{}/{}", settings.httpHost(), app.port(),
                auth.enabled() ? " (bearer tokens required for /api: " + auth.describe() + ")" : "");
        return this;
    }

    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
    }

    /**
     * A request body that must be one JSON object: a duplicate key is a 400 naming it, malformed
     * JSON or another value a 400 saying {@code expected}.
     */
    static JsonNode readObject(String body, String expected) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            dev.procq.intake.DuplicateKey duplicate = dev.procq.intake.DuplicateKey.of(e).orElse(null);
            if (duplicate != null) throw new ApiError(400, duplicate.message(), duplicate.detail());
            throw ApiError.badRequest("malformed JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw ApiError.badRequest(expected);
        return root;
    }
}
