package dev.procq.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The host's processes as the recovery tests look for them: by exact command line, zombies
 * counted as gone (a killed orphan may stay a zombie on hosts whose init never reaps).
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
        List<Long> pids = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"))) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) continue;
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

    /** Live processes whose command line contains {@code fragment} as one argument. */
    public static List<Long> withArgument(String fragment) {
        List<Long> pids = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"))) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) continue;
                if (commandLine(entry).contains(fragment) && isLive(Long.parseLong(name))) {
                    pids.add(Long.parseLong(name));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return pids;
    }

    /** True while the process exists and is not a zombie. */
    public static boolean isLive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.ISO_8859_1);
            // "pid (comm) S ...": the state follows the last ')', as comm may hold anything.
            int close = stat.lastIndexOf(')');
            char state = stat.charAt(close + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException | RuntimeException gone) {
            return false;
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
