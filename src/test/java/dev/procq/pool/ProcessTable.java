package dev.procq.pool;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** What tests see of other processes: found by command line in /proc, zombies counted as gone. */
final class ProcessTable {

    private ProcessTable() {
    }

    /**
     * Pids of live processes running {@code program} (any directory) with exactly
     * {@code arguments}. Zombies do not count: on hosts whose init never reaps, killed orphans
     * stay zombies forever.
     */
    static List<Long> live(String program, String... arguments) {
        List<Long> pids = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"))) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                List<String> commandLine = commandLine(entry);
                if (commandLine.size() == arguments.length + 1
                        && Path.of(commandLine.get(0)).getFileName().toString().equals(program)
                        && commandLine.subList(1, commandLine.size()).equals(Arrays.asList(arguments))
                        && isLive(Long.parseLong(name))) {
                    pids.add(Long.parseLong(name));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return pids;
    }

    static boolean isLive(long pid) {
        return ProcessGroups.stat(pid).filter(stat -> !stat.zombie()).isPresent();
    }

    private static List<String> commandLine(Path processDirectory) {
        byte[] raw;
        try {
            raw = Files.readAllBytes(processDirectory.resolve("cmdline"));
        } catch (IOException | RuntimeException gone) {
            return List.of();
        }
        if (raw.length == 0) {
            return List.of();
        }
        String all = new String(raw, StandardCharsets.UTF_8);
        if (all.endsWith("\0")) {
            all = all.substring(0, all.length() - 1);
        }
        return List.of(all.split("\0", -1));
    }

    /** The pid of a direct child of {@code parent} whose command name is {@code name}. */
    static java.util.OptionalLong childNamed(long parent, String name) {
        try (java.util.stream.Stream<Path> entries = java.nio.file.Files.list(Path.of("/proc"))) {
            for (Path entry : entries.toList()) {
                String pid = entry.getFileName().toString();
                if (!pid.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                String stat;
                try {
                    stat = java.nio.file.Files.readString(entry.resolve("stat"));
                } catch (java.io.IOException gone) {
                    continue;
                }
                int open = stat.indexOf('(');
                int close = stat.lastIndexOf(')');
                String[] fields = stat.substring(close + 2).split(" ");
                if (stat.substring(open + 1, close).equals(name)
                        && Long.parseLong(fields[1]) == parent) {
                    return java.util.OptionalLong.of(Long.parseLong(pid));
                }
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        return java.util.OptionalLong.empty();
    }

    /** Sends a signal with kill(1), as an operator would. */
    static void signal(long pid, String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-s", signal, Long.toString(pid)).start();
            if (kill.waitFor() != 0) {
                throw new IllegalStateException("kill -s " + signal + " " + pid + " failed");
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
