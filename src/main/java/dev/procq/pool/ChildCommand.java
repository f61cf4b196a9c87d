package dev.procq.pool;

import java.io.File;
import java.nio.charset.Charset;
import java.nio.charset.CharsetEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns a {@link ChildSpec} into the command line that really runs, checking first everything that
 * would otherwise fail inside the child where the reason gets lost.
 *
 * <p>The program runs wrapped in tools that each exec the next in place, so the program keeps the
 * pid the JVM got: {@code setsid} (own session and process group, so the whole tree can be
 * signalled), {@code setpriv --pdeathsig KILL} (the child dies with the worker; for a type with a
 * user, also {@code --reuid --regid --clear-groups}) and, when limits are set, {@code prlimit}
 * (which then runs as the type's user: it can lower a hard limit, never raise one).
 */
final class ChildCommand {

    private static final File DEV_NULL = new File("/dev/null");

    private ChildCommand() {
    }

    /**
     * @param charset the charset the JVM encodes arguments and environment with; on Java 17 the
     *     default charset, which is ASCII under the C locale
     */
    static ProcessBuilder prepare(ChildSpec spec, SystemTools tools, Charset charset)
            throws CannotSpawn {
        Path program = check(spec, charset);
        Path directory = spec.workingDirectory();

        List<String> options = spec.limits().prlimitOptions();
        List<String> command = new ArrayList<>(spec.argv().size() + options.size() + 9);
        command.add(tools.setsid().toString());
        command.add("--");
        command.add(tools.setpriv().toString());
        if (spec.runAs() != null) {
            // setpriv changes groups, group and user (real, effective and saved) before it sets the
            // parent-death signal, which a change of user would clear.
            command.addAll(List.of("--reuid", Integer.toString(spec.runAs().uid()),
                    "--regid", Integer.toString(spec.runAs().gid()), "--clear-groups"));
        }
        command.add("--pdeathsig");
        command.add("KILL");
        command.add("--");
        if (!options.isEmpty()) {
            command.add(tools.prlimit().toString());
            command.addAll(options);
            command.add("--");
        }
        command.add(program.toString());
        command.addAll(spec.argv().subList(1, spec.argv().size()));

        ProcessBuilder builder = new ProcessBuilder(command);
        Map<String, String> environment = builder.environment();
        environment.clear();
        environment.putAll(spec.environment());
        if (directory != null) {
            builder.directory(directory.toFile());
        }
        // A child reading stdin gets end of input, not a wait on a pipe nobody ever writes.
        builder.redirectInput(ProcessBuilder.Redirect.from(DEV_NULL));
        builder.redirectErrorStream(true);
        return builder;
    }

    /**
     * Checks what every backend would otherwise only find out inside the child, where the reason
     * is lost, and returns the program's path.
     *
     * @param charset what arguments and environment are encoded with for the child
     */
    static Path check(ChildSpec spec, Charset charset) throws CannotSpawn {
        requirePassable(spec, charset);
        Path directory = spec.workingDirectory();
        if (directory != null && !Files.isDirectory(directory)) {
            throw new CannotSpawn(Files.exists(directory)
                    ? "working directory is not a directory: " + directory
                    : "working directory not found: " + directory);
        }
        return resolveProgram(spec.argv().get(0), spec.environment(), directory);
    }

    /**
     * Finds the program the way the child's {@code execvp} would: a name with a slash is a path
     * (relative to the working directory), any other name is looked up in the child's own
     * {@code PATH}. Doing it here lets the error name the program.
     */
    static Path resolveProgram(String program, Map<String, String> environment,
            Path workingDirectory) throws CannotSpawn {
        if (program.isEmpty()) {
            throw new CannotSpawn("program name is empty");
        }
        Path base = workingDirectory != null ? workingDirectory : Path.of("").toAbsolutePath();
        if (program.contains("/")) {
            Path path = base.resolve(program);
            if (!Files.exists(path)) {
                throw new CannotSpawn("program not found: " + program);
            }
            if (!Files.isRegularFile(path) || !Files.isExecutable(path)) {
                throw new CannotSpawn("program not executable: " + program);
            }
            return path;
        }
        Path notExecutable = null;
        String searchPath = environment.getOrDefault("PATH", ChildSpec.DEFAULT_PATH);
        for (String entry : searchPath.split(":", -1)) {
            // An empty PATH entry means the current directory, as for execvp.
            Path candidate = base.resolve(entry.isEmpty() ? "." : entry).resolve(program);
            if (Files.isRegularFile(candidate)) {
                if (Files.isExecutable(candidate)) {
                    return candidate;
                }
                if (notExecutable == null) {
                    notExecutable = candidate;
                }
            }
        }
        if (notExecutable != null) {
            throw new CannotSpawn("program not executable: " + notExecutable);
        }
        throw new CannotSpawn("program not found: " + program);
    }

    /**
     * The JVM would silently cut an argument at a NUL and turn characters its charset cannot
     * encode into '?': the program would get a different target than the one submitted.
     */
    private static void requirePassable(ChildSpec spec, Charset charset) throws CannotSpawn {
        CharsetEncoder encoder = charset.newEncoder();
        List<String> argv = spec.argv();
        for (int index = 0; index < argv.size(); index++) {
            String argument = argv.get(index);
            String which = index == 0 ? "program name" : "argument " + index;
            if (argument.indexOf('\0') >= 0) {
                throw new CannotSpawn(which + " contains a NUL character");
            }
            if (!encoder.canEncode(argument)) {
                throw new CannotSpawn(which + unencodable(charset));
            }
        }
        for (Map.Entry<String, String> variable : spec.environment().entrySet()) {
            String name = variable.getKey();
            if (name.isEmpty() || name.indexOf('=') >= 0 || name.indexOf('\0') >= 0) {
                throw new CannotSpawn("invalid environment variable name: " + printable(name));
            }
            if (variable.getValue().indexOf('\0') >= 0) {
                throw new CannotSpawn("environment variable " + name + " contains a NUL character");
            }
            if (!encoder.canEncode(name) || !encoder.canEncode(variable.getValue())) {
                throw new CannotSpawn(
                        "environment variable " + printable(name) + unencodable(charset));
            }
        }
    }

    private static String unencodable(Charset charset) {
        return " has characters the JVM cannot pass in its charset " + charset
                + " (run the worker with a UTF-8 locale, e.g. LANG=C.UTF-8)";
    }

    private static String printable(String text) {
        return "\"" + text.replace("\0", "\\0") + "\"";
    }
}
