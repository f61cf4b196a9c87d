package dev.procq.testing;

import dev.procq.config.Settings.DatabaseTarget;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The real psql client, pointed at a test database through the libpq environment variables. */
public final class Psql {
    private static final Pattern JDBC = Pattern.compile("^jdbc:postgresql://([^/:?]+)(?::(\\d+))?/([^?]+)(?:\\?(.*))?$");

    private final DatabaseTarget target;

    public Psql(DatabaseTarget target) {
        this.target = target;
    }

    public static boolean available() {
        try {
            Process process = new ProcessBuilder("psql", "--version").redirectErrorStream(true).start();
            process.getInputStream().readAllBytes();
            return process.waitFor(10, TimeUnit.SECONDS) && process.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public record Result(int exit, String out, String err) {
        @Override
        public String toString() {
            return "psql exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    /** psql -X -v NAME=VALUE... -f script, with a timeout. */
    public Result run(Path script, Map<String, String> variables) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("psql", "-X", "-P", "pager=off"));
        variables.forEach((name, value) -> command.addAll(List.of("-v", name + "=" + value)));
        command.addAll(List.of("-f", script.toString()));
        ProcessBuilder builder = new ProcessBuilder(command);
        Map<String, String> env = builder.environment();
        Matcher url = JDBC.matcher(target.jdbcUrl());
        if (!url.matches()) throw new IllegalArgumentException("cannot turn " + target.jdbcUrl() + " into libpq settings");
        env.put("PGHOST", url.group(1));
        env.put("PGPORT", url.group(2) == null ? "5432" : url.group(2));
        env.put("PGDATABASE", url.group(3));
        String user = target.user();
        String password = target.password();
        if (url.group(4) != null) {
            for (String parameter : url.group(4).split("&")) {
                String[] pair = parameter.split("=", 2);
                if (pair.length == 2 && pair[0].equals("user") && user == null) user = pair[1];
                if (pair.length == 2 && pair[0].equals("password") && password == null) password = pair[1];
            }
        }
        if (user != null) env.put("PGUSER", user);
        if (password != null) env.put("PGPASSWORD", password);
        Process process = builder.start();
        process.getOutputStream().close();
        var out = java.util.concurrent.CompletableFuture.supplyAsync(() -> read(process.getInputStream()));
        var err = java.util.concurrent.CompletableFuture.supplyAsync(() -> read(process.getErrorStream()));
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("psql did not finish in 60 s: " + command);
        }
        return new Result(process.exitValue(), out.join(), err.join());
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }
}
