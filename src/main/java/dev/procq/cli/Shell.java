package dev.procq.cli;

import java.io.File;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * What a client command was started from: its streams, whether stdin and stderr are terminals,
 * and its environment (with COLUMNS filled in from the terminal when the shell did not export it).
 * Tests build one by hand to run commands in-process.
 *
 * @param stdinIsTerminal  true when a person would have to type the targets: then submit does not read stdin
 * @param stderrIsTerminal true when the progress bar can be redrawn in place
 */
public record Shell(InputStream in, PrintWriter out, PrintWriter err, boolean stdinIsTerminal,
                    boolean stderrIsTerminal, Map<String, String> env) {

    public Shell {
        env = Map.copyOf(env);
    }

    static final int DEFAULT_COLUMNS = 80;

    /** The process's own streams and environment. */
    public static Shell system() {
        boolean stderrIsTerminal = isTerminal(2) && !"dumb".equals(System.getenv("TERM"));
        Map<String, String> env = System.getenv();
        if (stderrIsTerminal && !env.containsKey("COLUMNS")) {
            // Shells rarely export COLUMNS; ask the terminal so the progress line uses its width.
            Map<String, String> withColumns = new HashMap<>(env);
            terminalColumns().ifPresent(columns -> withColumns.put("COLUMNS", Integer.toString(columns)));
            env = withColumns;
        }
        return new Shell(System.in,
                new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true),
                new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true),
                isTerminal(0), stderrIsTerminal, env);
    }

    /** The terminal's width: $COLUMNS, else 80. */
    public int columns() {
        try {
            int columns = Integer.parseInt(env.getOrDefault("COLUMNS", "").trim());
            return columns >= 20 ? columns : DEFAULT_COLUMNS;
        } catch (NumberFormatException e) {
            return DEFAULT_COLUMNS;
        }
    }

    /** {@code stty size} on the controlling terminal: "rows columns". */
    private static OptionalInt terminalColumns() {
        try {
            Process stty = new ProcessBuilder("stty", "size").redirectInput(new File("/dev/tty"))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            if (!stty.waitFor(1, TimeUnit.SECONDS)) {
                stty.destroyForcibly();
                return OptionalInt.empty();
            }
            String[] size = new String(stty.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+");
            if (stty.exitValue() == 0 && size.length == 2) return OptionalInt.of(Integer.parseInt(size[1]));
        } catch (Exception e) {
            // no terminal to ask, or no stty: the default width will do
        }
        return OptionalInt.empty();
    }

    /**
     * Whether file descriptor {@code fd} is a terminal. Java has no isatty: on Linux the descriptor's
     * link in /proc names the terminal device; elsewhere System.console() (stdin and stdout both
     * terminals) is the closest answer.
     */
    static boolean isTerminal(int fd) {
        Path link = Path.of("/proc/self/fd/" + fd);
        try {
            String target = Files.readSymbolicLink(link).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (Exception e) {
            return System.console() != null;
        }
    }
}
