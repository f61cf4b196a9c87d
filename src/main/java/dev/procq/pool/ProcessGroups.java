package dev.procq.pool;

import java.io.File;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signals whole process groups and finds them in {@code /proc}. Every child leads its own process
 * group (see {@link ChildCommand}), so a group is one child's whole tree, grandchildren included.
 */
public final class ProcessGroups {

    private static final Logger log = LoggerFactory.getLogger(ProcessGroups.class);
    private static final Path PROC = Path.of("/proc");
    private static final File DEV_NULL = new File("/dev/null");
    /** kill(1) only makes a few system calls; waiting longer means the host is in trouble. */
    private static final long KILL_COMMAND_TIMEOUT_SECONDS = 10;
    private static final int GROUPS_PER_KILL_COMMAND = 1000;

    private ProcessGroups() {
    }

    /**
     * SIGKILLs every process group that has a live process whose environment holds
     * {@code variable=value} for one of the values. A worker tags each child with its id, so after
     * a crash the next worker can end what the dead one left running: the direct children died with
     * the old worker, but their own children may not have.
     *
     * <p>Never touches the calling JVM's own session, so a worker that carries the tag itself (or
     * its shell) is safe.
     *
     * @return how many process groups were killed
     */
    public static int killTagged(String variable, Set<String> values) {
        Objects.requireNonNull(variable, "variable");
        if (variable.isEmpty() || variable.indexOf('=') >= 0) {
            throw new IllegalArgumentException("not an environment variable name: " + variable);
        }
        if (values.isEmpty()) {
            return 0;
        }
        // ISO-8859-1 maps bytes to chars one to one, so raw environ entries compare as strings.
        Charset environmentCharset = Charset.defaultCharset();
        Set<String> tags = new HashSet<>();
        for (String value : values) {
            tags.add(new String((variable + "=" + value).getBytes(environmentCharset),
                    StandardCharsets.ISO_8859_1));
        }
        ProcStat self = stat(ProcessHandle.current().pid())
                .orElseThrow(() -> new IllegalStateException("cannot read /proc/self/stat"));

        Set<Long> groups = new TreeSet<>();
        for (ProcStat process : liveProcesses()) {
            if (process.session() == self.session() || process.group() == self.group()
                    || process.group() <= 1) {
                continue;
            }
            if (environmentHasAny(process.pid(), tags)) {
                groups.add(process.group());
            }
        }
        if (groups.isEmpty()) {
            return 0;
        }
        signal(SystemTools.find("kill", "procps"), Signal.KILL, groups);
        log.info("killed {} process group(s) tagged {} in {}: {}", groups.size(), variable, values,
                groups);
        return groups.size();
    }

    /**
     * Sends {@code signal} to each whole process group at once with one {@code kill} command: Java
     * 17 cannot signal a group itself, and kill(2) on a group reaches even members forked a moment
     * ago. Groups that no longer exist are skipped by kill.
     */
    static void signal(Path killProgram, Signal signal, Collection<Long> groupIds) {
        List<Long> remaining = List.copyOf(groupIds);
        // Keeps each command line far below the kernel's limit on argument length.
        for (int start = 0; start < remaining.size(); start += GROUPS_PER_KILL_COMMAND) {
            int end = Math.min(remaining.size(), start + GROUPS_PER_KILL_COMMAND);
            runKill(killProgram, signal, remaining.subList(start, end));
        }
    }

    private static void runKill(Path killProgram, Signal signal, List<Long> groupIds) {
        List<String> command = new ArrayList<>(groupIds.size() + 4);
        command.add(killProgram.toString());
        command.add("-s");
        command.add(signal.name());
        command.add("--");
        for (long group : groupIds) {
            command.add("-" + group);
        }
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(DEV_NULL))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        builder.environment().clear();
        try {
            Process kill = builder.start();
            if (!kill.waitFor(KILL_COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                kill.destroyForcibly();
                log.warn("{} did not finish sending SIG{} to process groups {}", killProgram,
                        signal, groupIds);
            }
        } catch (IOException e) {
            log.warn("could not send SIG{} to process groups {}: {}", signal, groupIds,
                    e.toString());
        } catch (InterruptedException e) {
            // kill(1) is already running and will deliver the signal; just keep the interrupt.
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits up to {@code limit} until none of {@code groupIds} has a live member: a SIGKILL is
     * sent at once but lands when the kernel next runs each process. True when all are gone.
     */
    static boolean awaitGone(Collection<Long> groupIds, java.time.Duration limit) {
        if (groupIds.isEmpty()) {
            return true;
        }
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            Set<Long> live = liveGroupIds();
            if (groupIds.stream().noneMatch(live::contains)) {
                return true;
            }
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    /** Ids of the process groups that still have a live (not zombie) member. */
    static Set<Long> liveGroupIds() {
        Set<Long> groups = new HashSet<>();
        for (ProcStat process : liveProcesses()) {
            groups.add(process.group());
        }
        return groups;
    }

    /** The fields of /proc/PID/stat this class needs. */
    record ProcStat(long pid, char state, long group, long session) {

        boolean zombie() {
            return state == 'Z' || state == 'X';
        }
    }

    static Optional<ProcStat> stat(long pid) {
        String line;
        try {
            line = Files.readString(PROC.resolve(Long.toString(pid)).resolve("stat"),
                    StandardCharsets.ISO_8859_1);
        } catch (IOException | RuntimeException gone) {
            return Optional.empty();
        }
        // The command name in parentheses may itself hold spaces and parentheses.
        int nameEnd = line.lastIndexOf(')');
        if (nameEnd < 0) {
            return Optional.empty();
        }
        String[] fields = line.substring(nameEnd + 2).split(" ", 5);
        if (fields.length < 4) {
            return Optional.empty();
        }
        try {
            return Optional.of(new ProcStat(pid, fields[0].charAt(0), Long.parseLong(fields[2]),
                    Long.parseLong(fields[3])));
        } catch (NumberFormatException malformed) {
            return Optional.empty();
        }
    }

    private static List<ProcStat> liveProcesses() {
        List<ProcStat> processes = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(PROC)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                stat(Long.parseLong(name)).filter(process -> !process.zombie())
                        .ifPresent(processes::add);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc", e);
        }
        return processes;
    }

    private static boolean environmentHasAny(long pid, Set<String> entries) {
        byte[] environ;
        try {
            environ = Files.readAllBytes(PROC.resolve(Long.toString(pid)).resolve("environ"));
        } catch (IOException | RuntimeException unreadable) {
            // Gone meanwhile, or another user's process: not one of ours either way.
            return false;
        }
        String all = new String(environ, StandardCharsets.ISO_8859_1);
        int start = 0;
        while (start < all.length()) {
            int end = all.indexOf('\0', start);
            if (end < 0) {
                end = all.length();
            }
            if (entries.contains(all.substring(start, end))) {
                return true;
            }
            start = end + 1;
        }
        return false;
    }
}
