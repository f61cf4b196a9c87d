package dev.procq.cli;

import dev.procq.Main;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** Runs a procq command in this JVM with given stdin, terminals and environment; captures what it prints. */
record CliRun(int exit, String out, String err) {

    static Builder with(Map<String, String> env) {
        return new Builder(env);
    }

    static final class Builder {
        private final Map<String, String> env;
        private byte[] stdin = new byte[0];
        private boolean stdinIsTerminal;
        private boolean stderrIsTerminal;

        Builder(Map<String, String> env) {
            this.env = new HashMap<>(env);
        }

        Builder stdin(String text) {
            this.stdin = text.getBytes(StandardCharsets.UTF_8);
            return this;
        }

        Builder stdin(byte[] bytes) {
            this.stdin = bytes;
            return this;
        }

        Builder stdinIsTerminal() {
            this.stdinIsTerminal = true;
            return this;
        }

        Builder stderrIsTerminal() {
            this.stderrIsTerminal = true;
            return this;
        }

        Builder env(String name, String value) {
            env.put(name, value);
            return this;
        }

        CliRun run(String... args) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            Shell shell = new Shell(new ByteArrayInputStream(stdin), new PrintWriter(out, true), new PrintWriter(err, true),
                    stdinIsTerminal, stderrIsTerminal, env);
            int exit = Main.run(shell, args);
            return new CliRun(exit, out.toString(), err.toString());
        }
    }

    @Override
    public String toString() {
        return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
}
