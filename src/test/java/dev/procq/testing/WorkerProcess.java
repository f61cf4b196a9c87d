package dev.procq.testing;

import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;

/**
 * A real {@code procq worker} (or {@code api}) JVM, started from the test JVM's own class path (target/classes and
 * every dependency, so no jar is needed), to be killed, paused and signalled like the real thing.
 * Its log goes to a file under target/, printed by {@link #log()} when a test needs to say why.
 */
public final class WorkerProcess implements AutoCloseable {
    private static final Path LOGS = Path.of("target", "worker-logs");

    private final Process process;
    private final Path logFile;

    private WorkerProcess(Process process, Path logFile) {
        this.process = process;
        this.logFile = logFile;
    }

    /**
     * Starts {@code java dev.procq.Main worker} with exactly {@code env} (plus PATH and a UTF-8
     * locale) as its environment, and the given JVM options before the class name.
     */
    public static WorkerProcess start(String name, Map<String, String> env, String... jvmOptions) {
        return startCommand("worker", name, env, jvmOptions);
    }

    /** Like {@link #start}, for another server command: {@code api} (on a free port) or {@code dev}. */
    public static WorkerProcess startCommand(String procqCommand, String name, Map<String, String> env, String... jvmOptions) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // A quick start matters more than peak speed for these short runs.
        command.addAll(List.of("-Xshare:auto", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        command.addAll(List.of(jvmOptions));
        command.addAll(List.of("-cp", classPath(), "dev.procq.Main", procqCommand));
        try {
            Files.createDirectories(LOGS);
            Path log = LOGS.resolve(name + "-" + System.nanoTime() + ".log");
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            Map<String, String> environment = builder.environment();
            environment.clear();
            environment.put("PATH", System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin"));
            environment.put("LANG", "C.UTF-8");
            environment.put("PROCQ_WORKER_METRICS_PORT", "0");
            environment.put("PROCQ_HTTP_PORT", "0");
            environment.put("PROCQ_POLL_INTERVAL", "200ms");
            environment.putAll(env);
            return new WorkerProcess(builder.start(), log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Everything the test JVM runs with: surefire names it; a plain JVM has it in java.class.path. */
    public static String classPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
    }

    /** The variables a worker needs besides the database: job types file, concurrency, lease. */
    public static Map<String, String> environment(PostgresExtension postgres, Path jobTypes, int concurrency,
                                                  String lease) {
        Map<String, String> env = new HashMap<>(postgres.environment());
        env.put("PROCQ_JOB_TYPES", jobTypes.toString());
        env.put("PROCQ_WORKER_CONCURRENCY", Integer.toString(concurrency));
        env.put("PROCQ_LEASE", lease);
        // Short leases need a short grace: a child is ended that long before its lease could run out.
        env.put("PROCQ_KILL_GRACE", "500ms");
        return env;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits until the worker has registered in procq.worker and returns its worker id. */
    public long awaitRegistered(Jdbi jdbi) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .failFast("worker exited: " + logTail(), () -> !process.isAlive())
                .until(() -> workerId(jdbi).isPresent());
        return workerId(jdbi).orElseThrow();
    }

    private Optional<Long> workerId(Jdbi jdbi) {
        return jdbi.withHandle(h -> h.createQuery("SELECT max(id) FROM procq.worker WHERE pid = :pid")
                .bind("pid", pid()).mapTo(Long.class).findOne());
    }

    /** Sends a signal by name (TERM, KILL, STOP, CONT) with kill(1). */
    public void signal(String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-s", signal, Long.toString(pid())).inheritIO().start();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -s " + signal + " " + pid() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** SIGKILL, and wait until the JVM is gone. */
    public void kill() {
        process.destroyForcibly();
        awaitExit(Duration.ofSeconds(10));
    }

    /** Waits for the JVM to exit and returns its exit code. */
    public int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("worker " + pid() + " still running after " + timeout + ":\n" + logTail());
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The whole log of this worker. */
    public String log() {
        try {
            return Files.readString(logFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** The last lines of the log, for failure messages. */
    public String logTail() {
        List<String> lines = log().lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    /** SIGTERM, so the worker stops its children; SIGKILL if it is not gone within 20 seconds. */
    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                process.destroy();
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
