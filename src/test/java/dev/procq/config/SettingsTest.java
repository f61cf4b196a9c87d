package dev.procq.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procq.Main;
import dev.procq.cli.ExitCodes;
import dev.procq.cli.Shell;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SettingsTest {
    /**
     * One bad value of each kind stops every command that starts with exit code 2 and a message
     * naming the variable and the value, before anything is opened or listened on.
     */
    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
            // a boolean, which only api used to read (and then only after the pool was open)
            "PROCQ_MIGRATE_ON_START   | maybe                    | PROCQ_MIGRATE_ON_START=maybe is not true or false  | migrate worker api dev",
            // a duration
            "PROCQ_SHUTDOWN_GRACE     | soon                     | PROCQ_SHUTDOWN_GRACE=soon is not a duration        | migrate worker api dev",
            "PROCQ_LEASE              | 0s                       | PROCQ_LEASE=0s must be longer than zero            | migrate worker api dev",
            // a whole number in a range
            "PROCQ_DATABASE_POOL_SIZE | 0                        | PROCQ_DATABASE_POOL_SIZE=0 is out of range 1..1000 | migrate worker api dev",
            "PROCQ_WORKER_CONCURRENCY | many                     | PROCQ_WORKER_CONCURRENCY=many is not a whole number | migrate worker api dev",
            // a URL
            "PROCQ_DATABASE_URL       | mysql://db/procq         | PROCQ_DATABASE_URL=mysql://db/procq is neither     | migrate worker api dev",
            "PROCQ_URL                | ftp://procq.example      | PROCQ_URL=ftp://procq.example is not an http(s) URL | status cancel worker",
            // a path
            "PROCQ_SCAN_ROOTS         | photos=relative/dir      | PROCQ_SCAN_ROOTS: root 'photos' must be an absolute path, got relative/dir | migrate worker api dev",
            "PROCQ_JOB_TYPES          | /nonexistent/types.yaml  | /nonexistent/types.yaml does not exist (set PROCQ_JOB_TYPES | worker api",
            // host limits: a size, a load, pressure ceilings, and how they go together
            "PROCQ_WORKER_MEMFREE     | lots                     | PROCQ_WORKER_MEMFREE=lots is not a size like 512M or 2G | migrate worker api dev",
            "PROCQ_WORKER_MEMFREE_KILL | 1G                      | PROCQ_WORKER_MEMFREE_KILL needs PROCQ_WORKER_MEMFREE | migrate worker api dev",
            "PROCQ_WORKER_MAX_LOAD    | 0                        | PROCQ_WORKER_MAX_LOAD=0 is out of range: more than 0, at most 100000 | migrate worker api dev",
            "PROCQ_WORKER_MAX_LOAD    | high                     | PROCQ_WORKER_MAX_LOAD=high is not a number | migrate worker api dev",
            "PROCQ_WORKER_MAX_PRESSURE | disk:50                 | PROCQ_WORKER_MAX_PRESSURE=disk:50: 'disk:50' names no PSI resource (cpu, memory, io) | migrate worker api dev",
            "PROCQ_WORKER_MAX_PRESSURE | cpu:150                 | PROCQ_WORKER_MAX_PRESSURE=cpu:150: 'cpu:150' is out of range: more than 0, at most 100 | migrate worker api dev",
            "PROCQ_WORKER_MAX_PRESSURE | cpu                     | PROCQ_WORKER_MAX_PRESSURE=cpu: 'cpu' is not RESOURCE:PERCENT | migrate worker api dev",
            // one of a list
            "PROCQ_LOG_LEVEL          | LOUD                     | PROCQ_LOG_LEVEL=LOUD is not one of TRACE, DEBUG, INFO, WARN, ERROR, OFF | migrate worker api dev",
            // webhooks
            "PROCQ_WEBHOOK_ALLOWLIST  | ops                      | PROCQ_WEBHOOK_ALLOWLIST: 'ops' is not name=URL | migrate worker api dev",
            "PROCQ_WEBHOOK_ALLOWLIST  | ops=ftp://hooks.example  | PROCQ_WEBHOOK_ALLOWLIST: ops=ftp://hooks.example is not an absolute http(s) URL | worker api",
            "PROCQ_WEBHOOK_ALLOWLIST  | ops=https://hooks.example/procq | PROCQ_WEBHOOK_SECRET is not | worker api dev",
            "PROCQ_WEBHOOK_SECRET     | short                    | PROCQ_WEBHOOK_SECRET is 5 characters long | worker api",
            "PROCQ_WEBHOOK_TIMEOUT    | soon                     | PROCQ_WEBHOOK_TIMEOUT=soon is not a duration | worker api",
    })
    void everyBadValueStopsStartUpWithExitCode2(String variable, String value, String message, String commands) {
        for (String command : commands.split(" ")) {
            StringWriter err = new StringWriter();
            Shell shell = new Shell(new ByteArrayInputStream(new byte[0]), new PrintWriter(new StringWriter(), true),
                    new PrintWriter(err, true), false, false, Map.of(variable, value));
            String[] args = command.equals("status") || command.equals("cancel") ? new String[] {command, "1"} : new String[] {command};
            assertThat(Main.run(shell, args)).as(command).isEqualTo(ExitCodes.USAGE);
            assertThat(err.toString()).as(command).contains(message);
        }
    }

    @Test
    void webhookDestinationsAreNamesOrUrlsTheAllowlistCovers() {
        WebhookSettings webhooks = new Settings(Map.of("PROCQ_WEBHOOK_ALLOWLIST",
                "ops=https://hooks.example/procq,teams=https://chat.example/hooks/", "PROCQ_WEBHOOK_SECRET",
                "0123456789abcdef0123", "PROCQ_PUBLIC_URL", "https://procq.example/")).webhooks();
        WebhookDestinations allowed = webhooks.destinations();
        assertThat(allowed.resolve("ops")).contains("https://hooks.example/procq");
        assertThat(allowed.resolve("https://hooks.example/procq")).contains("https://hooks.example/procq");
        assertThat(allowed.resolve("https://chat.example/hooks/a/b")).contains("https://chat.example/hooks/a/b");
        assertThat(allowed.resolve("https://hooks.example/procq/more")).isEmpty();
        assertThat(allowed.resolve("https://chat.example/hooks/../admin")).isEmpty();
        assertThat(allowed.resolve("https://user@chat.example/hooks/a")).isEmpty();
        assertThat(allowed.resolve("https://chat.example.evil/hooks/a")).isEmpty();
        assertThat(allowed.resolve("nope")).isEmpty();
        assertThat(webhooks.publicUrl()).isEqualTo("https://procq.example");
        assertThat(webhooks.timeout()).isEqualTo(WebhookSettings.DEFAULT_TIMEOUT);
    }

    @Test
    void hostLimitsAreOffByDefaultAndReadIntoTheirTypes() {
        assertThat(new Settings(Map.of()).hostLimits()).isEqualTo(HostLimits.NONE);
        HostLimits limits = new Settings(Map.of("PROCQ_WORKER_MEMFREE", "2G", "PROCQ_WORKER_MEMFREE_KILL", "512MiB",
                "PROCQ_WORKER_MAX_LOAD", "7.5", "PROCQ_WORKER_MAX_PRESSURE", "cpu:50, memory:10")).hostLimits();
        assertThat(limits.memfree()).hasValue(2L << 30);
        assertThat(limits.memfreeKill()).hasValue(512L << 20);
        assertThat(limits.maxLoad()).hasValue(7.5);
        assertThat(limits.maxPressure()).containsExactly(Map.entry(HostLimits.Pressure.CPU, 50.0),
                Map.entry(HostLimits.Pressure.MEMORY, 10.0));
        assertThat(new Settings(Map.of("PROCQ_WORKER_MEMFREE", "off")).hostLimits().any()).isFalse();
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_WORKER_MEMFREE", "1G", "PROCQ_WORKER_MEMFREE_KILL", "1G")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("PROCQ_WORKER_MEMFREE_KILL=1G must be below PROCQ_WORKER_MEMFREE=1G");
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_WORKER_MAX_PRESSURE", "cpu:5,cpu:6")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("cpu is given twice");
    }

    @Test
    void eachVariableIsReadIntoItsTypeOnce() {
        Settings settings = new Settings(Map.of("PROCQ_MIGRATE_ON_START", "off", "PROCQ_SHUTDOWN_GRACE", "1m",
                "PROCQ_DATABASE_POOL_SIZE", "3", "PROCQ_URL", "https://procq.example", "PROCQ_SCAN_ROOTS", "photos=/srv/photos",
                "PROCQ_LOG_LEVEL", "debug"));
        assertThat(settings.migrateOnStart()).isFalse();
        assertThat(settings.shutdownGrace()).isEqualTo(Duration.ofMinutes(1));
        assertThat(settings.databasePoolSize()).isEqualTo(3);
        assertThat(settings.clientUrl()).isEqualTo("https://procq.example");
        assertThat(settings.scanRoots()).containsExactly(Map.entry("photos", Path.of("/srv/photos")));
        // true through a transaction-mode pooler is refused where it matters: by the commands that migrate
        Settings bounced = new Settings(Map.of("PROCQ_DATABASE_POOLER", "pgbouncer", "PROCQ_MIGRATE_ON_START", "yes"));
        assertThat(bounced.migrateOnStart()).isTrue();
        assertThatThrownBy(bounced::validateForApi).hasMessageContaining("PROCQ_MIGRATE_ON_START=true");
    }

    @Test
    void defaultsNeedNoConfiguration() {
        Settings settings = new Settings(Map.of());
        assertThat(settings.httpHost()).isEqualTo("127.0.0.1");
        assertThat(settings.httpPort()).isEqualTo(8080);
        assertThat(settings.apiTokens()).isEmpty();
        assertThat(settings.clientUrl()).isEqualTo("http://127.0.0.1:8080");
        assertThat(settings.database()).isEmpty();
        assertThat(settings.spawner()).isEqualTo("auto");
    }

    @Test
    void postgresUrlsBecomeJdbcUrlsWithCredentials() {
        Settings.DatabaseTarget target = new Settings(Map.of("PROCQ_DATABASE_URL", "postgres://app:s%40cret@db.example:5433/procq?sslmode=require"))
                .database().orElseThrow();
        assertThat(target.jdbcUrl()).isEqualTo("jdbc:postgresql://db.example:5433/procq?sslmode=require");
        assertThat(target.user()).isEqualTo("app");
        assertThat(target.password()).isEqualTo("s@cret");
        assertThat(target.toString()).doesNotContain("s@cret");
    }

    @Test
    void aUrlMayNameSeveralServers() {
        Settings.DatabaseTarget several = new Settings(Map.of("PROCQ_DATABASE_URL",
                "jdbc:postgresql://db-a:5432,db-b:5433/procq?user=app")).database().orElseThrow();
        assertThat(several.hosts()).containsExactly("db-a:5432", "db-b:5433");
        assertThat(several.namesSeveralHosts()).isTrue();
        assertThat(several.parameter("user")).contains("app");
        assertThat(several.parameter(Settings.DatabaseTarget.SERVER_TYPE)).isEmpty();

        Settings.DatabaseTarget one = Settings.DatabaseTarget.parse("jdbc:postgresql://db-a/procq", null, null);
        assertThat(one.hosts()).containsExactly("db-a");
        assertThat(one.namesSeveralHosts()).isFalse();
        assertThat(Settings.DatabaseTarget.parse("jdbc:postgresql:procq", null, null).hosts()).containsExactly("localhost");
    }

    @Test
    void postgresUrlsWithSeveralServersKeepThemAndTheirSessionAttributes() {
        Settings.DatabaseTarget target = Settings.DatabaseTarget.parse(
                "postgres://app:pw@db-a:5432,db-b:5432/procq?target_session_attrs=read-write&sslmode=require", null, null);
        assertThat(target.jdbcUrl())
                .isEqualTo("jdbc:postgresql://db-a:5432,db-b:5432/procq?targetServerType=primary&sslmode=require");
        assertThat(target.user()).isEqualTo("app");
        assertThat(target.hosts()).containsExactly("db-a:5432", "db-b:5432");
        assertThat(Settings.DatabaseTarget.parse("postgresql://db-a,db-b/procq?target_session_attrs=any", null, null)
                .parameter(Settings.DatabaseTarget.SERVER_TYPE)).contains("any");
    }

    @Test
    void aUrlThatAsksForAStandbyIsRefused() {
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_DATABASE_URL",
                "jdbc:postgresql://db-a,db-b/procq?password=secret&targetServerType=preferSecondary")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("PROCQ_DATABASE_URL asks for targetServerType=preferSecondary")
                .hasMessageContaining("a standby refuses writes")
                .hasMessageNotContaining("secret");
        assertThatThrownBy(() -> Settings.DatabaseTarget.parse(
                "postgres://app:secret@db-a,db-b/procq?target_session_attrs=standby", null, null))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("target_session_attrs=standby")
                .hasMessageNotContaining("secret");
        assertThat(Settings.DatabaseTarget.parse("jdbc:postgresql://db-a,db-b/procq?targetServerType=any", null, null)
                .parameter(Settings.DatabaseTarget.SERVER_TYPE)).contains("any");
    }

    @Test
    void jdbcUrlKeepsSeparateCredentials() {
        Settings.DatabaseTarget target = new Settings(Map.of("PROCQ_DATABASE_URL", "jdbc:postgresql://h/db",
                "PROCQ_DATABASE_USER", "u", "PROCQ_DATABASE_PASSWORD", "p")).database().orElseThrow();
        assertThat(target).isEqualTo(new Settings.DatabaseTarget("jdbc:postgresql://h/db", "u", "p"));
    }

    @Test
    void badValuesNameTheVariableAndTheValue() {
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_HTTP_PORT", "eighty")))
                .hasMessage("PROCQ_HTTP_PORT=eighty is not a whole number");
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_WORKER_CONCURRENCY", "0")))
                .hasMessageContaining("PROCQ_WORKER_CONCURRENCY=0 is out of range");
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_LEASE", "forever")))
                .hasMessageContaining("PROCQ_LEASE=forever is not a duration");
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_DATABASE_URL", "mysql://x/y")))
                .hasMessageContaining("PROCQ_DATABASE_URL");
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_SCAN_ROOTS", "photos=relative/dir")))
                .hasMessageContaining("must be an absolute path");
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_SPAWNER", "fork")))
                .hasMessage("PROCQ_SPAWNER=fork is not one of auto, native, java");
        assertThat(new Settings(Map.of("PROCQ_SPAWNER", "Native")).spawner()).isEqualTo("native");
    }

    @Test
    void listeningBeyondLoopbackNeedsTokens() {
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_HTTP_HOST", "0.0.0.0")).validateForApi())
                .isInstanceOf(ConfigException.class).hasMessageContaining("PROCQ_API_TOKENS");
        // a worker has no API to protect: its metrics port may listen anywhere
        new Settings(Map.of("PROCQ_HTTP_HOST", "0.0.0.0"));
        Settings withTokens = new Settings(Map.of("PROCQ_HTTP_HOST", "0.0.0.0", "PROCQ_API_TOKENS", "a, b")).validateForApi();
        assertThat(withTokens.apiTokens()).isEqualTo(List.of("a", "b"));
    }

    @Test
    void secretsComeFromFilesWithoutTheirTrailingNewline(@TempDir Path dir) throws IOException {
        Path password = Files.writeString(dir.resolve("password"), "s3cret with spaces inside\n");
        Path tokens = Files.writeString(dir.resolve("tokens"), "token-a\r\ntoken-b,token-c\r\n");
        Settings settings = new Settings(Map.of("PROCQ_DATABASE_URL", "jdbc:postgresql://h/db",
                "PROCQ_DATABASE_PASSWORD_FILE", password.toString(), "PROCQ_API_TOKENS_FILE", tokens.toString()));
        assertThat(settings.database().orElseThrow().password()).isEqualTo("s3cret with spaces inside");
        assertThat(settings.apiTokens()).containsExactly("token-a", "token-b", "token-c");
        // only one newline is the file's end; a password may itself end in one more
        Files.writeString(password, "ends in a newline\n\n");
        assertThat(new Settings(Map.of("PROCQ_DATABASE_URL", "jdbc:postgresql://h/db",
                "PROCQ_DATABASE_PASSWORD_FILE", password.toString())).database().orElseThrow().password())
                .isEqualTo("ends in a newline");
    }

    @Test
    void aSecretGivenTwiceOrInAFileThatCannotBeReadStopsStartUp(@TempDir Path dir) throws IOException {
        Path password = Files.writeString(dir.resolve("password"), "s3cret");
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_DATABASE_PASSWORD", "other",
                "PROCQ_DATABASE_PASSWORD_FILE", password.toString())))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("both PROCQ_DATABASE_PASSWORD and PROCQ_DATABASE_PASSWORD_FILE are set");
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_API_TOKENS", "a", "PROCQ_API_TOKENS_FILE", password.toString())))
                .hasMessageStartingWith("both PROCQ_API_TOKENS and PROCQ_API_TOKENS_FILE are set");
        Path missing = dir.resolve("missing");
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_DATABASE_PASSWORD_FILE", missing.toString())))
                .isInstanceOf(ConfigException.class)
                .hasMessage("PROCQ_DATABASE_PASSWORD_FILE=" + missing + ": no such file");
        // root reads any file whatever its mode; a directory cannot be read by anyone
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_API_TOKENS_FILE", dir.toString())))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("PROCQ_API_TOKENS_FILE=" + dir + ": ");
        Path empty = Files.writeString(dir.resolve("empty"), "\n");
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_API_TOKENS_FILE", empty.toString())))
                .hasMessage("PROCQ_API_TOKENS_FILE=" + empty + ": the file is empty");
    }

    @Test
    void tokensCarryAScopeAndAnIdAndABareTokenIsAdmin() {
        List<ApiToken> tokens = new Settings(Map.of("PROCQ_API_TOKENS",
                "legacy-token, read:READ-1, submit:ci=SUBMIT-2, ADMIN:ops=admin=with=equals, has:colon")).scopedApiTokens();
        assertThat(tokens).extracting(ApiToken::scope).containsExactly(ApiToken.Scope.ADMIN, ApiToken.Scope.READ,
                ApiToken.Scope.SUBMIT, ApiToken.Scope.ADMIN, ApiToken.Scope.ADMIN);
        assertThat(tokens).extracting(ApiToken::secret)
                .containsExactly("legacy-token", "READ-1", "SUBMIT-2", "admin=with=equals", "has:colon");
        assertThat(tokens.get(0).id()).matches("sha256:[0-9a-f]{12}");
        assertThat(tokens.get(1).id()).matches("sha256:[0-9a-f]{12}").isNotEqualTo(tokens.get(0).id());
        assertThat(tokens.get(2).id()).isEqualTo("ci");
        assertThat(tokens.get(3).id()).isEqualTo("ops");
        assertThat(tokens.toString()).doesNotContain("SUBMIT-2").doesNotContain("legacy-token");
    }

    @Test
    void aBadTokenListNamesTheEntryNeverTheToken() {
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_API_TOKENS", "submit:ci=")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("PROCQ_API_TOKENS: entry 1");
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_API_TOKENS", "read:a=SECRET-1,submit:a=SECRET-2")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("entry 2 repeats the name 'a'")
                .hasMessageNotContaining("SECRET");
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_API_TOKENS", "read:SECRET-1,submit:SECRET-1")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("entry 2 repeats the token")
                .hasMessageNotContaining("SECRET");
    }

    @Test
    void slowClientLimitsHaveDefaultsAndAreChecked() {
        assertThat(new Settings(Map.of()).submissionLimits()).isEqualTo(SubmissionLimits.DEFAULT);
        SubmissionLimits set = new Settings(Map.of("PROCQ_SUBMISSION_MIN_BYTES", "10", "PROCQ_SUBMISSION_WINDOW", "2s",
                "PROCQ_SUBMISSION_TIMEOUT", "1m", "PROCQ_SUBMISSIONS_PER_CLIENT", "3")).submissionLimits();
        assertThat(set).isEqualTo(new SubmissionLimits(10, Duration.ofSeconds(2), Duration.ofMinutes(1), 3));
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_SUBMISSIONS_PER_CLIENT", "0")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("PROCQ_SUBMISSIONS_PER_CLIENT=0");
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_SUBMISSION_WINDOW", "1m", "PROCQ_SUBMISSION_TIMEOUT", "10s")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("PROCQ_SUBMISSION_TIMEOUT=10s");
    }

    @Test
    void durationsReadTheWayOperatorsWriteThem() {
        assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Durations.parse("15s")).isEqualTo(Duration.ofSeconds(15));
        assertThat(Durations.parse("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(Durations.parse("PT1H")).isEqualTo(Duration.ofHours(1));
        assertThat(Durations.parse("7")).isEqualTo(Duration.ofSeconds(7));
    }

    @Test
    void thePoolerIsNoneUnlessPgBouncerIsNamed() {
        assertThat(new Settings(Map.of()).databasePooler()).isEqualTo(DatabasePooler.NONE);
        assertThat(new Settings(Map.of("PROCQ_DATABASE_POOLER", "PgBouncer")).databasePooler()).isEqualTo(DatabasePooler.PGBOUNCER);
        assertThatThrownBy(() -> new Settings(Map.of("PROCQ_DATABASE_POOLER", "pgpool")))
                .hasMessage("PROCQ_DATABASE_POOLER=pgpool is not one of none, pgbouncer");
    }

    @Test
    void behindPgBouncerMigrationsAreLeftToADirectConnection() {
        assertThat(new Settings(Map.of()).migrateOnStart()).isTrue();
        Settings bounced = new Settings(Map.of("PROCQ_DATABASE_POOLER", "pgbouncer"));
        assertThat(bounced.validateForApi().migrateOnStart()).as("off by default behind PgBouncer").isFalse();
        assertThatThrownBy(() -> bounced.with(Map.of("PROCQ_MIGRATE_ON_START", "true")).validateForApi())
                .hasMessageStartingWith("PROCQ_MIGRATE_ON_START=true needs a direct connection to PostgreSQL, "
                        + "but PROCQ_DATABASE_POOLER=pgbouncer");
        assertThatThrownBy(() -> bounced.requireSessionForMigrations("'procq migrate'"))
                .hasMessageContaining("Run 'procq migrate' with PROCQ_DATABASE_URL pointing at PostgreSQL itself");
    }
}
