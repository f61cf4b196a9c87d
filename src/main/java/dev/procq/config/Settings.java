package dev.procq.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Everything procq reads from the environment, each variable parsed once into a typed value when
 * the settings are made; a bad value fails fast with a message naming the variable and the value.
 * Each default sits next to the variable it belongs to.
 */
public final class Settings {
    public static final String DEFAULT_HTTP_HOST = "127.0.0.1";
    public static final int DEFAULT_HTTP_PORT = 8080;
    public static final int DEFAULT_WORKER_METRICS_PORT = 9464;
    public static final String DEFAULT_JOB_TYPES = "./jobtypes.yaml";
    public static final String DEFAULT_URL = "http://127.0.0.1:8080";
    public static final Duration DEFAULT_LEASE = Duration.ofSeconds(15);
    public static final String DEFAULT_SPAWNER = "auto";
    public static final String DEFAULT_CGROUP_ROOT = "auto";
    public static final List<String> SPAWNERS = List.of("auto", "native", "java");
    public static final Duration MIN_LEASE = Duration.ofSeconds(1);
    public static final Duration DEFAULT_KILL_GRACE = Duration.ofSeconds(5);
    /**
     * What a worker keeps between the end of a child it can no longer vouch for and the end of
     * that child's lease, beyond the kill grace: for the SIGKILL to land and timers to fire.
     */
    public static final Duration FENCE_MARGIN = Duration.ofMillis(250);
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(30);
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);
    public static final long DEFAULT_MAX_BATCH_SIZE = 5_000_000;
    public static final int DEFAULT_MAX_TARGET_LENGTH = 4096;
    public static final int DEFAULT_DB_POOL_SIZE = 10;
    public static final Duration DEFAULT_RETENTION = Duration.ofDays(7);
    /** A schedule's tick due longer ago than this was missed (no scheduler ran): its catch-up policy applies. */
    public static final Duration DEFAULT_SCHEDULE_MISFIRE_GRACE = Duration.ofSeconds(60);
    /** Shorter retention is almost certainly a missing unit ("7" is seven seconds), so it is refused. */
    public static final Duration MIN_RETENTION = Duration.ofMinutes(1);

    /** PROCQ_LOG_LEVEL's values; logback would take anything else silently as DEBUG. */
    public static final List<String> LOG_LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");
    public static final int MAX_WORKER_CONCURRENCY = 100_000;

    private final Map<String, String> env;

    // Each variable parsed once, here: a bad value stops the constructor, naming the variable and the value.
    private final Optional<DatabaseTarget> database;
    private final int databasePoolSize;
    private final DatabasePooler databasePooler;
    private final DatabaseTimeouts databaseTimeouts;
    private final String httpHost;
    private final int httpPort;
    private final List<String> apiTokens;
    private final List<ApiToken> scopedApiTokens;
    private final SubmissionLimits submissionLimits;
    private final boolean migrateOnStart;
    private final long maxBatchSize;
    private final int maxTargetLength;
    private final Path jobTypesFile;
    private final Optional<Integer> workerConcurrency;
    private final String spawner;
    private final String cgroupRoot;
    private final Duration leaseDuration;
    private final Duration killGrace;
    private final Duration shutdownGrace;
    private final Duration pollInterval;
    private final Optional<Integer> workerMetricsPort;
    private final Optional<Duration> retention;
    private final HostLimits hostLimits;
    private final Duration scheduleMisfireGrace;
    private final Map<String, Path> scanRoots;
    private final WebhookSettings webhooks;
    private final String clientUrl;

    /**
     * Secrets that may come from a file instead of the environment, as Docker secrets and systemd
     * credentials provide them: {@code NAME_FILE} names the file. A variable in the environment is
     * readable by every process of the same user (/proc/PID/environ) and is inherited by what the
     * process starts; a file of mode 0600 is read once here and is nowhere else in the process.
     */
    public static final List<String> SECRETS_FROM_FILES = List.of("PROCQ_DATABASE_PASSWORD", "PROCQ_API_TOKENS", "PROCQ_WEBHOOK_SECRET");
    private static final String SECRET_FILE_KEY = "secret file of ";

    /**
     * Reads every variable procq knows, once, into typed values, the way HikariCP's {@code
     * validate()} checks a whole configuration before anything starts: the first bad value throws a
     * {@link ConfigException} naming the variable and the value, and the command exits with 2.
     * What only some commands need (a database URL, tokens beyond loopback, a direct session for
     * migrations) is checked by those commands: {@link #requireDatabase}, {@link #validateForApi},
     * {@link #requireSessionForMigrations}.
     */
    public Settings(Map<String, String> env) {
        this.env = Map.copyOf(withSecretsFromFiles(env));
        logLevel();
        database = get("PROCQ_DATABASE_URL").map(url -> DatabaseTarget.parse(url,
                get("PROCQ_DATABASE_USER").orElse(null), get("PROCQ_DATABASE_PASSWORD").orElse(null)));
        databasePoolSize = intValue("PROCQ_DATABASE_POOL_SIZE", DEFAULT_DB_POOL_SIZE, 1, 1000);
        databasePooler = parseDatabasePooler();
        databaseTimeouts = new DatabaseTimeouts(
                durationValue("PROCQ_DATABASE_CONNECT_TIMEOUT", DatabaseTimeouts.DEFAULT.connect()),
                durationValue("PROCQ_DATABASE_STATEMENT_TIMEOUT", DatabaseTimeouts.DEFAULT.statement()),
                durationValue("PROCQ_DATABASE_LOCK_TIMEOUT", DatabaseTimeouts.DEFAULT.lock()));
        httpHost = get("PROCQ_HTTP_HOST").orElse(DEFAULT_HTTP_HOST);
        httpPort = intValue("PROCQ_HTTP_PORT", DEFAULT_HTTP_PORT, 0, 65535);
        // Commas or lines: a tokens file may hold one token per line.
        apiTokens = get("PROCQ_API_TOKENS").map(v -> Arrays.stream(v.split("[,\\r\\n]"))
                .map(String::trim).filter(t -> !t.isEmpty()).toList()).orElse(List.of());
        scopedApiTokens = ApiToken.parseAll(apiTokens);
        submissionLimits = parseSubmissionLimits();
        migrateOnStart = booleanValue("PROCQ_MIGRATE_ON_START", !databasePooler.sharesServerSessions());
        maxBatchSize = longValue("PROCQ_MAX_BATCH_SIZE", DEFAULT_MAX_BATCH_SIZE, 1, Long.MAX_VALUE);
        maxTargetLength = intValue("PROCQ_MAX_TARGET_LENGTH", DEFAULT_MAX_TARGET_LENGTH, 1, 1 << 20);
        jobTypesFile = Path.of(get("PROCQ_JOB_TYPES").orElse(DEFAULT_JOB_TYPES));
        workerConcurrency = get("PROCQ_WORKER_CONCURRENCY").isEmpty() ? Optional.empty()
                : Optional.of(intValue("PROCQ_WORKER_CONCURRENCY", 0, 1, MAX_WORKER_CONCURRENCY));
        spawner = parseSpawner();
        cgroupRoot = parseCgroupRoot();
        leaseDuration = parseLease();
        killGrace = durationValue("PROCQ_KILL_GRACE", DEFAULT_KILL_GRACE);
        requireLeaseLongerThanKillGrace();
        shutdownGrace = durationValue("PROCQ_SHUTDOWN_GRACE", DEFAULT_SHUTDOWN_GRACE);
        pollInterval = durationValue("PROCQ_POLL_INTERVAL", DEFAULT_POLL_INTERVAL);
        workerMetricsPort = isOff("PROCQ_WORKER_METRICS_PORT") ? Optional.empty()
                : Optional.of(intValue("PROCQ_WORKER_METRICS_PORT", DEFAULT_WORKER_METRICS_PORT, 0, 65535));
        retention = parseRetention();
        hostLimits = HostLimits.parse(this::get);
        scheduleMisfireGrace = durationValue("PROCQ_SCHEDULE_MISFIRE_GRACE", DEFAULT_SCHEDULE_MISFIRE_GRACE);
        scanRoots = parseScanRoots();
        clientUrl = parseClientUrl();
        webhooks = parseWebhooks();
    }

    /** The environment with each {@code NAME_FILE} of {@link #SECRETS_FROM_FILES} replaced by NAME and the file's text. */
    private static Map<String, String> withSecretsFromFiles(Map<String, String> env) {
        Map<String, String> resolved = new LinkedHashMap<>(env);
        for (String name : SECRETS_FROM_FILES) {
            String fileVariable = name + "_FILE";
            String file = resolved.remove(fileVariable);
            if (file == null || file.isBlank()) continue;
            String direct = resolved.get(name);
            if (direct != null && !direct.isBlank()) {
                throw new ConfigException("both " + name + " and " + fileVariable + " are set: set only one ("
                        + fileVariable + " keeps the secret out of the environment)");
            }
            resolved.put(name, readSecret(fileVariable, Path.of(file.trim())));
            // Where it came from, for secretFiles(); not a variable anybody sets.
            resolved.put(SECRET_FILE_KEY + name, file.trim());
        }
        return resolved;
    }

    private static String readSecret(String variable, Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(variable + "=" + file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new ConfigException(variable + "=" + file + ": permission denied (the file must be readable by the"
                    + " user procq runs as)");
        } catch (IOException | UncheckedIOException e) {
            throw new ConfigException(variable + "=" + file + ": cannot be read: " + e.getMessage(), e);
        }
        // echo, editors and `docker secret create` leave one newline at the end; it is no part of the secret.
        if (text.endsWith("\r\n")) {
            text = text.substring(0, text.length() - 2);
        } else if (text.endsWith("\n")) {
            text = text.substring(0, text.length() - 1);
        }
        if (text.isBlank()) {
            throw new ConfigException(variable + "=" + file + ": the file is empty");
        }
        return text;
    }

    /** A copy with some variables replaced; for dev mode and tests. */
    public Settings with(Map<String, String> overrides) {
        Map<String, String> merged = new LinkedHashMap<>(env);
        merged.putAll(overrides);
        return new Settings(merged);
    }

    public Optional<String> get(String name) {
        String value = env.get(name);
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
    }

    // ---- database

    /** The JDBC URL, from PROCQ_DATABASE_URL in JDBC or postgres:// form; user and password folded in. */
    public Optional<DatabaseTarget> database() {
        return database;
    }

    public DatabaseTarget requireDatabase(String command) {
        return database.orElseThrow(() -> new ConfigException(
                "PROCQ_DATABASE_URL is not set: '" + command + "' needs a PostgreSQL URL such as "
                        + "jdbc:postgresql://127.0.0.1:5432/procq (or run 'procq dev', which embeds one)"));
    }

    /** Connections per process: each of api, worker and dev opens a pool of this size. */
    public int databasePoolSize() {
        return databasePoolSize;
    }

    /**
     * What is between procq and PostgreSQL: {@code none} (PostgreSQL itself, or a pooler in session
     * mode) or {@code pgbouncer} (PgBouncer in transaction mode).
     */
    public DatabasePooler databasePooler() {
        return databasePooler;
    }

    private DatabasePooler parseDatabasePooler() {
        Optional<String> raw = get("PROCQ_DATABASE_POOLER");
        if (raw.isEmpty()) return DatabasePooler.NONE;
        return DatabasePooler.fromSetting(raw.get()).orElseThrow(() -> new ConfigException(
                "PROCQ_DATABASE_POOLER=" + raw.get() + " is not one of " + DatabasePooler.settings()));
    }

    /**
     * Refuses a transaction-mode pooler for migrations: Flyway sets its session's search_path (and
     * role) and counts on them in later transactions, which such a pooler may run on other server
     * sessions, leaving the change behind on one that then serves other clients.
     */
    public Settings requireSessionForMigrations(String what) {
        if (databasePooler.sharesServerSessions()) {
            throw new ConfigException(what + " needs a direct connection to PostgreSQL, but PROCQ_DATABASE_POOLER="
                    + databasePooler.setting() + ": migrations keep settings in their session, which a transaction-mode "
                    + "pooler shares with other clients. Run 'procq migrate' with PROCQ_DATABASE_URL pointing at "
                    + "PostgreSQL itself and PROCQ_DATABASE_POOLER=none (docs/pgbouncer.md)");
        }
        return this;
    }

    /** The bounds on every wait for PostgreSQL (connect, statement, lock). */
    public DatabaseTimeouts databaseTimeouts() {
        return databaseTimeouts;
    }

    // ---- HTTP

    public String httpHost() {
        return httpHost;
    }

    public int httpPort() {
        return httpPort;
    }

    /** The entries of PROCQ_API_TOKENS as written (each {@code TOKEN}, {@code SCOPE:TOKEN} or {@code SCOPE:NAME=TOKEN}). */
    public List<String> apiTokens() {
        return apiTokens;
    }

    /** PROCQ_API_TOKENS with each token's scope and id; a bare token is admin, as before scopes. */
    public List<ApiToken> scopedApiTokens() {
        return scopedApiTokens;
    }

    /** PROCQ_SUBMISSION_MIN_BYTES, _WINDOW, _TIMEOUT and PROCQ_SUBMISSIONS_PER_CLIENT. */
    public SubmissionLimits submissionLimits() {
        return submissionLimits;
    }

    private SubmissionLimits parseSubmissionLimits() {
        SubmissionLimits defaults = SubmissionLimits.DEFAULT;
        SubmissionLimits limits = new SubmissionLimits(
                longValue("PROCQ_SUBMISSION_MIN_BYTES", defaults.minBytes(), 0, Long.MAX_VALUE),
                durationValue("PROCQ_SUBMISSION_WINDOW", defaults.window()),
                durationValue("PROCQ_SUBMISSION_TIMEOUT", defaults.timeout()),
                intValue("PROCQ_SUBMISSIONS_PER_CLIENT", defaults.perClient(), 1, 10_000));
        if (limits.window().compareTo(Duration.ofMillis(100)) < 0) {
            throw new ConfigException("PROCQ_SUBMISSION_WINDOW=" + get("PROCQ_SUBMISSION_WINDOW").orElse("")
                    + " is shorter than 100ms: a client's first packet could miss it");
        }
        if (limits.timeout().compareTo(limits.window()) < 0) {
            throw new ConfigException("PROCQ_SUBMISSION_TIMEOUT=" + Durations.format(limits.timeout())
                    + " is shorter than PROCQ_SUBMISSION_WINDOW=" + Durations.format(limits.window()));
        }
        return limits;
    }

    /**
     * Whether {@code api} applies pending migrations at start: by default yes, unless behind a
     * transaction-mode pooler, where {@link #validateForApi} refuses true.
     */
    public boolean migrateOnStart() {
        return migrateOnStart;
    }

    public long maxBatchSize() {
        return maxBatchSize;
    }

    public int maxTargetLength() {
        return maxTargetLength;
    }

    // ---- job types and worker

    public Path jobTypesFile() {
        return jobTypesFile;
    }

    /**
     * PROCQ_WORKER_CONCURRENCY, the worker's cap on running children of all its types together.
     * Unset, it is the sum of the concurrency the job-types file gives its types: every type can
     * run at its own concurrency at once, and no more than the operator wrote down runs in all.
     * (One per CPU, as before, cut the shipped types to a fraction of theirs without a word: most
     * children wait on disks and networks, not on this host's CPUs.)
     */
    public int workerConcurrency(JobTypes types) {
        long declared = types.all().stream().mapToLong(JobType::concurrency).sum();
        return workerConcurrency.orElse((int) Math.min(declared, MAX_WORKER_CONCURRENCY));
    }

    /** How the worker starts children: {@code auto} (the spawn helper when it works), {@code native}, {@code java}. */
    public String spawner() {
        return spawner;
    }

    /**
     * Where each child gets a cgroup of its own: {@code auto} (the worker's own cgroup when it is a
     * delegated subtree), {@code off}, or an absolute path in a cgroup2 file system.
     */
    public String cgroupRoot() {
        return cgroupRoot;
    }

    private String parseCgroupRoot() {
        String value = get("PROCQ_CGROUP_ROOT").orElse(DEFAULT_CGROUP_ROOT).trim();
        String lower = value.toLowerCase(java.util.Locale.ROOT);
        if (lower.equals("auto") || lower.equals("off")) return lower;
        if (!value.startsWith("/")) {
            throw new ConfigException("PROCQ_CGROUP_ROOT=" + value
                    + " is not auto, off or an absolute path (e.g. /sys/fs/cgroup/system.slice/procq-worker.service)");
        }
        return value;
    }

    private String parseSpawner() {
        String value = get("PROCQ_SPAWNER").orElse(DEFAULT_SPAWNER).toLowerCase(java.util.Locale.ROOT);
        if (!SPAWNERS.contains(value)) {
            throw new ConfigException("PROCQ_SPAWNER=" + get("PROCQ_SPAWNER").orElse("")
                    + " is not one of " + String.join(", ", SPAWNERS));
        }
        return value;
    }

    public Duration leaseDuration() {
        return leaseDuration;
    }

    private Duration parseLease() {
        Duration lease = durationValue("PROCQ_LEASE", DEFAULT_LEASE);
        // Renewed every third of it: shorter, and one GC pause or slow query loses healthy jobs.
        if (lease.compareTo(MIN_LEASE) < 0) {
            throw new ConfigException("PROCQ_LEASE=" + get("PROCQ_LEASE").orElse("") + " is shorter than " + MIN_LEASE.toSeconds()
                    + "s: a worker would lose its jobs on any short pause");
        }
        return lease;
    }

    /**
     * Between SIGTERM and SIGKILL when procq stops a child (timeout, cancel, shutdown, or a lease
     * it can no longer be sure of).
     */
    public Duration killGrace() {
        return killGrace;
    }

    /**
     * A worker that cannot renew a lease begins ending the job's child PROCQ_KILL_GRACE plus
     * {@link #FENCE_MARGIN} before the lease could run out, and renews three times within what is
     * left. A lease of less than twice that would leave no time to renew at all.
     */
    private void requireLeaseLongerThanKillGrace() {
        Duration least = killGrace.plus(FENCE_MARGIN).multipliedBy(2);
        if (leaseDuration.compareTo(least) < 0) {
            throw new ConfigException("PROCQ_LEASE=" + Durations.format(leaseDuration) + " is too short for PROCQ_KILL_GRACE="
                    + Durations.format(killGrace) + ": a worker that cannot renew a lease ends the job's child PROCQ_KILL_GRACE + "
                    + Durations.format(FENCE_MARGIN) + " before the lease runs out, so PROCQ_LEASE must be at least 2 x (PROCQ_KILL_GRACE + "
                    + Durations.format(FENCE_MARGIN) + ") = " + Durations.format(least) + ". Raise PROCQ_LEASE or lower PROCQ_KILL_GRACE");
        }
    }

    /**
     * procq's own files that hold what a job must not read: the job-types file and the password
     * and tokens files when given. Sandboxes cover them.
     */
    public List<Path> secretFiles() {
        List<Path> files = new ArrayList<>();
        files.add(jobTypesFile);
        for (String name : SECRETS_FROM_FILES) {
            get(SECRET_FILE_KEY + name).map(Path::of).ifPresent(files::add);
        }
        return List.copyOf(files);
    }

    public Duration shutdownGrace() {
        return shutdownGrace;
    }

    public Duration pollInterval() {
        return pollInterval;
    }

    /**
     * Where the worker serves /metrics; "off" for nowhere, 0 for any free port. Unset, it is
     * {@value #DEFAULT_WORKER_METRICS_PORT} or, when that is taken, a free port near it (see
     * {@link #workerMetricsPortIsRequired}).
     */
    public Optional<Integer> workerMetricsPort() {
        return workerMetricsPort;
    }

    /**
     * True when the operator set PROCQ_WORKER_METRICS_PORT: then the worker listens on exactly
     * that port or does not start, since a scraper has been pointed at it. Only the default
     * gives way to a second worker on the same host.
     */
    public boolean workerMetricsPortIsRequired() {
        return get("PROCQ_WORKER_METRICS_PORT").isPresent();
    }

    /**
     * How long finished batches are kept before workers prune them (PROCQ_RETENTION, e.g. 7d, 36h);
     * empty when set to "off".
     */
    /** When the worker holds new starts for the host's sake: PROCQ_WORKER_MEMFREE and the rest of {@link HostLimits}. */
    public HostLimits hostLimits() {
        return hostLimits;
    }

    public Optional<Duration> retention() {
        return retention;
    }

    /**
     * PROCQ_SCHEDULE_MISFIRE_GRACE: how late a schedule's tick may be handled and still count as on
     * time; a tick older than this was missed, and the schedule's catch-up policy decides.
     */
    public Duration scheduleMisfireGrace() {
        return scheduleMisfireGrace;
    }

    private Optional<Duration> parseRetention() {
        if (isOff("PROCQ_RETENTION")) return Optional.empty();
        Duration value = durationValue("PROCQ_RETENTION", DEFAULT_RETENTION);
        if (value.compareTo(MIN_RETENTION) < 0) {
            throw new ConfigException("PROCQ_RETENTION=" + get("PROCQ_RETENTION").orElse("") + " is shorter than "
                    + Durations.format(MIN_RETENTION) + "; write the unit, e.g. 7d or 36h, or 'off' to keep everything");
        }
        return Optional.of(value);
    }

    // ---- client

    /** PROCQ_URL: the API the client commands talk to. */
    public String clientUrl() {
        return clientUrl;
    }

    private String parseClientUrl() {
        String url = get("PROCQ_URL").orElse(DEFAULT_URL);
        requireHttpUrl("PROCQ_URL", url);
        return url;
    }

    /** Refuses anything but an http(s) URL with a host, naming where it came from (a variable or an option). */
    public static void requireHttpUrl(String source, String url) {
        try {
            URI uri = URI.create(url);
            if (uri.getHost() != null && ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) return;
        } catch (IllegalArgumentException e) {
            // not a URI at all: refused below
        }
        throw new ConfigException(source + "=" + url + " is not an http(s) URL like " + DEFAULT_URL);
    }

    public Optional<String> clientToken() {
        return get("PROCQ_TOKEN");
    }

    // ---- scanning

    /** PROCQ_SCAN_ROOTS as name to directory, e.g. {@code photos=/srv/photos,logs=/var/log/app}. */
    public Map<String, Path> scanRoots() {
        return scanRoots;
    }

    private Map<String, Path> parseScanRoots() {
        Map<String, Path> roots = new LinkedHashMap<>();
        get("PROCQ_SCAN_ROOTS").ifPresent(value -> {
            for (String pair : value.split(",")) {
                if (pair.isBlank()) continue;
                int eq = pair.indexOf('=');
                if (eq <= 0 || eq == pair.length() - 1) {
                    throw new ConfigException("PROCQ_SCAN_ROOTS: '" + pair.trim() + "' is not name=/path");
                }
                String name = pair.substring(0, eq).trim();
                Path dir = Path.of(pair.substring(eq + 1).trim());
                if (!dir.isAbsolute()) {
                    throw new ConfigException("PROCQ_SCAN_ROOTS: root '" + name + "' must be an absolute path, got " + dir);
                }
                roots.put(name, dir);
            }
        });
        return Collections.unmodifiableMap(roots);
    }

    // ---- webhooks

    /** PROCQ_WEBHOOK_*: the allowlist, the signing secret, the timeout and backoff of the sends, and PROCQ_PUBLIC_URL. */
    public WebhookSettings webhooks() {
        return webhooks;
    }

    private WebhookSettings parseWebhooks() {
        WebhookDestinations destinations = get("PROCQ_WEBHOOK_ALLOWLIST")
                .map(v -> WebhookDestinations.parse("PROCQ_WEBHOOK_ALLOWLIST", v)).orElse(WebhookDestinations.NONE);
        String secret = get("PROCQ_WEBHOOK_SECRET").orElse(null);
        if (!destinations.isEmpty() && secret == null) {
            throw new ConfigException("PROCQ_WEBHOOK_ALLOWLIST is set but PROCQ_WEBHOOK_SECRET is not: every webhook is "
                    + "signed with it (e.g. openssl rand -hex 32)");
        }
        if (secret != null && secret.length() < WebhookSettings.MIN_SECRET_LENGTH) {
            // The value is a secret: its length is named, never the value.
            throw new ConfigException("PROCQ_WEBHOOK_SECRET is " + secret.length() + " characters long; it must have at least "
                    + WebhookSettings.MIN_SECRET_LENGTH + " (e.g. openssl rand -hex 32)");
        }
        String publicUrl = get("PROCQ_PUBLIC_URL").orElse("http://" + (httpHost.contains(":") ? "[" + httpHost + "]" : httpHost)
                + ":" + httpPort);
        requireHttpUrl("PROCQ_PUBLIC_URL", publicUrl);
        return new WebhookSettings(destinations, secret,
                durationValue("PROCQ_WEBHOOK_TIMEOUT", WebhookSettings.DEFAULT_TIMEOUT),
                durationValue("PROCQ_WEBHOOK_BACKOFF", WebhookSettings.DEFAULT_BACKOFF),
                publicUrl.endsWith("/") ? publicUrl.substring(0, publicUrl.length() - 1) : publicUrl);
    }

    // ---- logging

    /** PROCQ_LOG_LEVEL, which logback.xml reads itself; checked here because logback takes a typo as DEBUG. */
    private void logLevel() {
        get("PROCQ_LOG_LEVEL").ifPresent(level -> {
            if (!LOG_LEVELS.contains(level.toUpperCase(java.util.Locale.ROOT))) {
                throw new ConfigException("PROCQ_LOG_LEVEL=" + level + " is not one of " + String.join(", ", LOG_LEVELS));
            }
        });
    }

    // ---- what only some commands need

    /**
     * The rules for serving the API, for {@code api} and {@code dev}: beyond loopback only with
     * tokens, and no migrations at start through a transaction-mode pooler. The worker does not
     * serve the API (its metrics port may listen anywhere) and does not migrate.
     */
    public Settings validateForApi() {
        if (migrateOnStart) requireSessionForMigrations("PROCQ_MIGRATE_ON_START=true");
        return requireTokensBeyondLoopback();
    }

    /** Refuses an API reachable from other hosts without PROCQ_API_TOKENS: anyone there could submit work. */
    public Settings requireTokensBeyondLoopback() {
        if (apiTokens.isEmpty() && !isLoopback(httpHost)) {
            throw new ConfigException("PROCQ_HTTP_HOST=" + httpHost + " listens beyond loopback but PROCQ_API_TOKENS is empty: "
                    + "anyone who reaches the port could submit work. Set PROCQ_API_TOKENS or listen on 127.0.0.1");
        }
        return this;
    }

    /** True for localhost and any loopback address (127.0.0.0/8, ::1); a name is resolved. */
    static boolean isLoopback(String host) {
        if (host.equals("localhost")) return true;
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private boolean isOff(String name) {
        return get(name).map(v -> v.equalsIgnoreCase("off")).orElse(false);
    }

    private int intValue(String name, int defaultValue, int min, int max) {
        return (int) longValue(name, defaultValue, min, max);
    }

    private long longValue(String name, long defaultValue, long min, long max) {
        Optional<String> raw = get(name);
        if (raw.isEmpty()) return defaultValue;
        long value;
        try {
            value = Long.parseLong(raw.get().replace("_", ""));
        } catch (NumberFormatException e) {
            throw new ConfigException(name + "=" + raw.get() + " is not a whole number");
        }
        if (value < min || value > max) {
            throw new ConfigException(name + "=" + raw.get() + " is out of range " + min + ".." + max);
        }
        return value;
    }

    private boolean booleanValue(String name, boolean defaultValue) {
        Optional<String> raw = get(name);
        if (raw.isEmpty()) return defaultValue;
        return switch (raw.get().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "yes", "1", "on" -> true;
            case "false", "no", "0", "off" -> false;
            default -> throw new ConfigException(name + "=" + raw.get() + " is not true or false");
        };
    }

    private Duration durationValue(String name, Duration defaultValue) {
        Optional<String> raw = get(name);
        if (raw.isEmpty()) return defaultValue;
        Duration value;
        try {
            value = Durations.parse(raw.get());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(name + "=" + raw.get() + " is not a duration like 500ms, 15s, 2m or 1h");
        }
        if (value.isNegative() || value.isZero()) {
            throw new ConfigException(name + "=" + raw.get() + " must be longer than zero");
        }
        return value;
    }

    /**
     * Where the database is: a JDBC URL plus optional credentials. The URL may name several
     * servers ({@code jdbc:postgresql://a:5432,b:5432/procq}); procq then always connects to the
     * one that is the primary (see {@link #namesSeveralHosts}).
     */
    public record DatabaseTarget(String jdbcUrl, String user, String password) {
        private static final String JDBC_PREFIX = "jdbc:postgresql:";
        private static final Pattern POSTGRES_URL =
                Pattern.compile("^postgres(?:ql)?://(?:([^:@/]*)(?::([^@/]*))?@)?([^/?]+)(/[^?]*)?(\\?.*)?$");
        /** pgjdbc's URL parameter that picks a server by role; its names are case-sensitive. */
        public static final String SERVER_TYPE = "targetServerType";
        /**
         * The {@value #SERVER_TYPE} values that always land on a server taking writes (or leave
         * the choice to the URL's order): procq writes on every connection, so a standby is no use.
         */
        static final List<String> WRITABLE_SERVER_TYPES = List.of("primary", "master", "preferPrimary", "any");
        /** libpq's {@code target_session_attrs}, as postgres:// URLs give it, in pgjdbc's terms. */
        private static final Map<String, String> SESSION_ATTRS_TO_SERVER_TYPE =
                Map.of("read-write", "primary", "primary", "primary", "any", "any");

        public static DatabaseTarget parse(String url, String user, String password) {
            if (url.startsWith(JDBC_PREFIX)) {
                return new DatabaseTarget(url, user, password).requireWritableServerType();
            }
            Matcher m = POSTGRES_URL.matcher(url);
            if (!m.matches()) {
                throw new ConfigException("PROCQ_DATABASE_URL=" + redact(url)
                        + " is neither jdbc:postgresql://host:port/db nor postgres://user:pass@host:port/db");
            }
            String urlUser = m.group(1) == null || m.group(1).isEmpty() ? null : decode(m.group(1));
            String urlPassword = m.group(2) == null ? null : decode(m.group(2));
            String path = m.group(4) == null ? "/" : m.group(4);
            String query = m.group(5) == null ? "" : jdbcQuery(m.group(5));
            return new DatabaseTarget("jdbc:postgresql://" + m.group(3) + path + query,
                    urlUser != null ? urlUser : user, urlPassword != null ? urlPassword : password)
                    .requireWritableServerType();
        }

        /** The servers the URL names, as {@code host[:port]}, in the order pgjdbc tries them. */
        public List<String> hosts() {
            String rest = jdbcUrl.substring(Math.min(jdbcUrl.length(), JDBC_PREFIX.length()));
            // jdbc:postgresql:db and jdbc:postgresql:/ name no host: pgjdbc connects to localhost.
            if (!rest.startsWith("//")) return List.of("localhost");
            String authority = rest.substring(2);
            int end = authority.length();
            for (char stop : new char[] {'/', '?'}) {
                int at = authority.indexOf(stop);
                if (at >= 0 && at < end) end = at;
            }
            return Arrays.stream(authority.substring(0, end).split(",")).filter(host -> !host.isBlank()).toList();
        }

        /**
         * True when the URL names more than one server. procq then asks pgjdbc for the primary
         * ({@value #SERVER_TYPE}=primary) unless the URL says otherwise, so after a failover every
         * new connection finds the promoted server and none lands on a standby.
         */
        public boolean namesSeveralHosts() {
            return hosts().size() > 1;
        }

        /** A parameter of the URL's query string, undecoded; names are case-sensitive, as in pgjdbc. */
        public Optional<String> parameter(String name) {
            int query = jdbcUrl.indexOf('?');
            if (query < 0) return Optional.empty();
            for (String pair : jdbcUrl.substring(query + 1).split("&")) {
                int eq = pair.indexOf('=');
                if (eq > 0 && pair.substring(0, eq).equals(name)) return Optional.of(pair.substring(eq + 1));
            }
            return Optional.empty();
        }

        private DatabaseTarget requireWritableServerType() {
            parameter(SERVER_TYPE).ifPresent(type -> {
                if (!WRITABLE_SERVER_TYPES.contains(type)) {
                    // Not the whole URL: a JDBC URL may carry password=... in its query.
                    throw new ConfigException("PROCQ_DATABASE_URL asks for " + SERVER_TYPE + "="
                            + type + ", but procq writes on every connection and a standby refuses writes; use one of "
                            + String.join(", ", WRITABLE_SERVER_TYPES) + " (primary is the default when several hosts are named)");
                }
            });
            return this;
        }

        /** A postgres:// query string for pgjdbc: libpq's target_session_attrs becomes targetServerType. */
        private static String jdbcQuery(String query) {
            List<String> pairs = new ArrayList<>();
            for (String pair : query.substring(1).split("&")) {
                if (pair.startsWith("target_session_attrs=")) {
                    String attrs = decode(pair.substring("target_session_attrs=".length()));
                    String type = SESSION_ATTRS_TO_SERVER_TYPE.get(attrs);
                    if (type == null) {
                        throw new ConfigException("PROCQ_DATABASE_URL asks for target_session_attrs="
                                + attrs + ", but procq writes on every connection; use read-write, primary or any");
                    }
                    pairs.add(SERVER_TYPE + "=" + type);
                } else if (!pair.isEmpty()) {
                    pairs.add(pair);
                }
            }
            return pairs.isEmpty() ? "" : "?" + String.join("&", pairs);
        }

        private static String decode(String s) {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        }

        /** The URL with any password masked, for messages and logs. */
        public static String redact(String url) {
            try {
                URI uri = URI.create(url.startsWith("jdbc:") ? url.substring(5) : url);
                if (uri.getUserInfo() != null && uri.getUserInfo().contains(":")) {
                    return url.replace(uri.getRawUserInfo(), uri.getUserInfo().split(":", 2)[0] + ":***");
                }
            } catch (IllegalArgumentException ignored) {
                // not a URI we can take apart: fall through and hide everything after '@'
            }
            int at = url.indexOf('@');
            return at < 0 ? url : "***" + url.substring(at);
        }

        @Override
        public String toString() {
            return "DatabaseTarget[" + redact(jdbcUrl) + ", user=" + user + "]";
        }
    }
}
