package dev.procq.pool;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs a child inside bubblewrap ({@code bwrap}, Debian's {@code bubblewrap}, the tool Flatpak
 * uses): one more exec per child, since bwrap execs the program itself.
 *
 * <p>The sandbox sees the host read-only ({@code --ro-bind / /}), so programs, their libraries and
 * their configuration work unchanged; only the policy's writable directories are bound writable.
 * It gets a private {@code /tmp}, an empty {@code /run} (the host's holds unix sockets, such as
 * PostgreSQL's and Docker's, which a read-only mount does not stop anyone connecting to), its own
 * {@code /proc} and minimal {@code /dev}, its own PID, IPC, UTS and (unless the policy allows the
 * network) network namespace, and no capabilities, even when the worker runs as root.
 *
 * <p>No {@code --new-session}: the sandboxed program stays in the process group the spawn helper
 * made with {@code setsid}, so a signal to the group reaches bwrap, the program and its children
 * alike. The child has no controlling terminal (stdin is {@code /dev/null}), so the terminal
 * injection {@code --new-session} guards against has nothing to reach. bwrap itself dies of
 * SIGTERM; with {@code --die-with-parent} and the PID namespace, the kernel then kills everything
 * inside at once: a sandboxed tree gets no kill grace.
 */
public final class Bubblewrap {
    /** Debian's and Flatpak's place for it. */
    public static final Path DEFAULT_PATH = Path.of("/usr/bin/bwrap");
    /** How long the start-up probe may take; bwrap itself starts in milliseconds. */
    static final Duration PROBE_TIMEOUT = Duration.ofSeconds(10);

    /**
     * What a sandboxed child may reach.
     *
     * @param network whether the child shares the host's network (otherwise it has only its own
     *     loopback)
     * @param writable absolute directories bound writable at the same place
     */
    public record Policy(boolean network, List<Path> writable) {
        public Policy {
            writable = List.copyOf(writable);
            for (Path path : writable) {
                if (!path.isAbsolute()) throw new IllegalArgumentException("writable path is not absolute: " + path);
            }
        }
    }

    private final Path bwrap;
    private final List<Path> hidden;

    public Bubblewrap(Path bwrap) {
        this(bwrap, List.of());
    }

    /**
     * @param hidden files no sandboxed program may read although the host is visible read-only
     *     (procq's own: the job-types file, the password and tokens files): each is covered by an
     *     empty file inside the sandbox. Files that do not exist are left out.
     */
    public Bubblewrap(Path bwrap, List<Path> hidden) {
        this.bwrap = bwrap;
        List<Path> existing = new ArrayList<>();
        for (Path file : hidden) {
            Path absolute = file.toAbsolutePath().normalize();
            if (Files.isRegularFile(absolute)) existing.add(absolute);
        }
        this.hidden = List.copyOf(existing);
    }

    /**
     * The same child inside the sandbox: {@code bwrap <options> -- <program path> <arguments>}.
     * The program is resolved here, outside, the way the child's {@code execvp} would, so the
     * error names it and bwrap searches nothing.
     *
     * @throws IllegalArgumentException when the program cannot be found or run; never runs it
     *     unsandboxed
     */
    public ChildSpec wrap(ChildSpec spec, Policy policy) {
        Path program;
        try {
            program = ChildCommand.resolveProgram(spec.argv().get(0), spec.environment(), spec.workingDirectory());
        } catch (CannotSpawn e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        List<String> argv = new ArrayList<>(command(policy, spec.workingDirectory()));
        argv.add(program.toString());
        argv.addAll(spec.argv().subList(1, spec.argv().size()));
        return new ChildSpec(argv, spec.environment(), spec.workingDirectory(), spec.timeout(), spec.killGrace(),
                spec.tailBytes(), spec.limits(), spec.runAs(), spec.cgroup());
    }

    /** bwrap and its options, up to and including the {@code --} before the program. */
    List<String> command(Policy policy, Path workingDirectory) {
        List<String> command = new ArrayList<>(List.of(bwrap.toString(),
                "--die-with-parent",
                "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"));
        if (!policy.network()) {
            command.add("--unshare-net");
        }
        command.addAll(List.of("--ro-bind", "/", "/",
                "--dev", "/dev",
                "--proc", "/proc",
                "--tmpfs", "/tmp",
                "--tmpfs", "/run"));
        if (policy.network()) {
            // Name resolution may live under /run (systemd-resolved's stub file).
            resolvConfUnderRun().ifPresent(file -> command.addAll(List.of("--ro-bind", file, file)));
        }
        for (Path directory : policy.writable()) {
            command.addAll(List.of("--bind", directory.toString(), directory.toString()));
        }
        // After the writable binds, so a writable directory cannot show them again.
        for (Path file : hidden) {
            command.addAll(List.of("--ro-bind", "/dev/null", file.toString()));
        }
        if (workingDirectory != null) {
            command.addAll(List.of("--chdir", workingDirectory.toAbsolutePath().toString()));
        }
        command.addAll(List.of("--cap-drop", "ALL", "--"));
        return command;
    }

    private static Optional<String> resolvConfUnderRun() {
        try {
            Path real = Path.of("/etc/resolv.conf").toRealPath();
            return real.startsWith("/run") ? Optional.of(real.toString()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Runs {@code /bin/true} once in the strictest sandbox procq builds, with the policy's
     * writable directories, so a worker whose types need a sandbox refuses to start when bwrap is
     * missing or cannot build one here (no user namespaces for an unprivileged user, a container
     * that forbids mounting /proc, ...), instead of failing every job.
     *
     * @throws IllegalStateException naming the problem and bwrap's own message
     */
    public void probe(Policy policy) {
        if (!Files.isRegularFile(bwrap) || !Files.isExecutable(bwrap)) {
            throw new IllegalStateException(bwrap + " not found or not executable; sandboxed job types need"
                    + " bubblewrap (Debian: apt-get install bubblewrap)");
        }
        for (Path directory : policy.writable()) {
            if (!Files.isDirectory(directory)) {
                throw new IllegalStateException("writable directory " + directory + " does not exist");
            }
        }
        List<String> command = command(new Policy(false, policy.writable()), null);
        command.add("/bin/true");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().clear(); // the worker's own variables hold its secrets
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + bwrap + ": " + e.getMessage(), e);
        }
        try {
            if (!process.waitFor(PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(bwrap + " did not finish a trial run within " + PROBE_TIMEOUT.toSeconds() + " s");
            }
            String output = new String(process.getInputStream().readNBytes(4096), StandardCharsets.UTF_8).strip();
            if (process.exitValue() != 0) {
                throw new IllegalStateException(bwrap + " cannot build a sandbox here (exit code " + process.exitValue()
                        + (output.isEmpty() ? "" : ": " + output) + "); tried: " + String.join(" ", command));
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while trying " + bwrap, e);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + bwrap + "'s output: " + e.getMessage(), e);
        }
    }
}
