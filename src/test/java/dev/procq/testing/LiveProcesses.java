package dev.procq.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * The host's processes as the tests look for them in /proc: by exact command line, by argument or
 * by parent, zombies counted as gone (a killed orphan may stay a zombie on hosts whose init never
 * reaps). The one /proc scanner of the tests.
 */
public final class LiveProcesses {
    private LiveProcesses() {
    }

    /** A {@code sleep} argument nothing else on this host uses, so a test finds its own sleeps. */
    public static String uniqueSleepSeconds() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        return random.nextInt(2000, 9000) + "." + random.nextInt(100_000, 1_000_000);
    }

    /** Pids of live processes running {@code program} (any directory) with exactly these arguments. */
    public static List<Long> running(String program, String... arguments) {
        return liveWhere(process -> {
            List<String> commandLine = commandLine(process);
            return commandLine.size() == arguments.length + 1
                    && Path.of(commandLine.get(0)).getFileName().toString().equals(program)
                    && commandLine.subList(1, commandLine.size()).equals(Arrays.asList(arguments));
        });
    }

    /** Live processes whose command line contains {@code fragment} as one argument. */
    public static List<Long> withArgument(String fragment) {
        return liveWhere(process -> commandLine(process).contains(fragment));
    }

    /** The pid of a live direct child of {@code parent} whose command name is {@code name}. */
    public static OptionalLong childNamed(long parent, String name) {
        return liveWhere(process -> {
            String stat = stat(process);
            if (stat == null) return false;
            int open = stat.indexOf('(');
            int close = stat.lastIndexOf(')');
            // After "pid (comm) ": the state, then the parent's pid.
            String[] fields = stat.substring(close + 2).split(" ");
            return stat.substring(open + 1, close).equals(name) && Long.parseLong(fields[1]) == parent;
        }).stream().mapToLong(Long::longValue).findFirst();
    }

    /** True while the process exists and is not a zombie. */
    public static boolean isLive(long pid) {
        String stat = stat(Path.of("/proc", Long.toString(pid)));
        if (stat == null) return false;
        // "pid (comm) S ...": the state follows the last ')', as comm may hold anything.
        char state = stat.charAt(stat.lastIndexOf(')') + 2);
        return state != 'Z' && state != 'X';
    }

    /** Sends a signal with kill(1), as an operator would. */
    public static void signal(long pid, String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-s", signal, Long.toString(pid)).start();
            if (kill.waitFor() != 0) {
                throw new IllegalStateException("kill -s " + signal + " " + pid + " failed");
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static List<Long> liveWhere(Predicate<Path> matches) {
        List<Long> pids = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"))) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) continue;
                if (matches.test(entry) && isLive(Long.parseLong(name))) pids.add(Long.parseLong(name));
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return pids;
    }

    /** The process's stat line, or null once it is gone. */
    private static String stat(Path processDirectory) {
        try {
            return Files.readString(processDirectory.resolve("stat"), StandardCharsets.ISO_8859_1);
        } catch (IOException | RuntimeException gone) {
            return null;
        }
    }

    private static List<String> commandLine(Path processDirectory) {
        byte[] raw;
        try {
            raw = Files.readAllBytes(processDirectory.resolve("cmdline"));
        } catch (IOException | RuntimeException gone) {
            return List.of();
        }
        if (raw.length == 0) return List.of();
        String all = new String(raw, StandardCharsets.UTF_8);
        if (all.endsWith("\0")) all = all.substring(0, all.length() - 1);
        return List.of(all.split("\0", -1));
    }
}
