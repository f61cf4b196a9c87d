package dev.procq.pool;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The user and group a child runs as, instead of the worker's, with no supplementary groups.
 *
 * <p>Names are turned into ids once, at start-up, by {@code getent} (so users from LDAP or sssd
 * are found as {@code id} would find them): the spawn helper runs with an empty environment and no
 * name service, and switches by number between fork and exec.
 *
 * @param name what the operator wrote, for messages
 */
public record RunAs(int uid, int gid, String name) {

    /** Linux capabilities a worker that is not root needs for children of another user. */
    private static final int CAP_KILL = 5;
    private static final int CAP_SETGID = 6;
    private static final int CAP_SETUID = 7;

    public RunAs {
        if (uid < 0 || gid < 0) {
            throw new IllegalArgumentException("uid and gid must not be negative: " + uid + ":" + gid);
        }
    }

    @Override
    public String toString() {
        return name + " (uid " + uid + ", gid " + gid + ")";
    }

    /**
     * @param user a user name or uid
     * @param group a group name or gid; {@code null} for the user's primary group
     * @throws IllegalArgumentException naming what cannot be found
     */
    public static RunAs lookUp(String user, String group) {
        Path getent = SystemTools.find("getent", "libc-bin");
        Optional<String[]> account = entry(getent, "passwd", user);
        int uid;
        if (isNumber(user)) {
            uid = parseId(user, "user");
        } else {
            uid = parseId(account.orElseThrow(() -> new IllegalArgumentException(
                    "no such user: " + user))[2], "uid of " + user);
        }
        int gid;
        if (group == null) {
            gid = parseId(account.orElseThrow(() -> new IllegalArgumentException(
                    "uid " + user + " has no account, so it has no primary group: name a group"))[3],
                    "primary gid of " + user);
        } else if (isNumber(group)) {
            gid = parseId(group, "group");
        } else {
            gid = parseId(entry(getent, "group", group).orElseThrow(() -> new IllegalArgumentException(
                    "no such group: " + group))[2], "gid of " + group);
        }
        return new RunAs(uid, gid, group == null ? user : user + ":" + group);
    }

    /**
     * Why programs this worker starts could not change to another user, or empty when they can.
     * The helper and {@code setpriv} are programs the worker execs: as root they keep the
     * capabilities of the bounding set; as any other user only the ambient ones survive execve.
     * Besides CAP_SETUID and CAP_SETGID for the switch, CAP_KILL is needed to stop the children
     * afterwards (timeouts, cancels, leases), since they no longer belong to the worker's user.
     */
    public static Optional<String> whyUsersCannotChange() {
        List<String> status;
        try {
            status = Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return Optional.of("cannot read /proc/self/status: " + e.getMessage());
        }
        String effectiveUid = field(status, "Uid:").split("\\s+")[1];
        boolean root = effectiveUid.equals("0");
        String set = root ? "CapBnd:" : "CapAmb:";
        long capabilities = Long.parseUnsignedLong(field(status, set).trim(), 16);
        List<String> missing = new ArrayList<>();
        if ((capabilities & (1L << CAP_SETUID)) == 0) missing.add("CAP_SETUID");
        if ((capabilities & (1L << CAP_SETGID)) == 0) missing.add("CAP_SETGID");
        if ((capabilities & (1L << CAP_KILL)) == 0) missing.add("CAP_KILL");
        if (missing.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of("the worker runs as uid " + effectiveUid + (root
                ? " but its capability bounding set lacks " + String.join(", ", missing)
                : " without " + String.join(", ", missing) + " in its ambient capabilities")
                + ": run it as root, or grant them as ambient capabilities (systemd:"
                + " AmbientCapabilities=CAP_SETUID CAP_SETGID CAP_KILL)");
    }

    private static String field(List<String> status, String name) {
        return status.stream().filter(line -> line.startsWith(name))
                .map(line -> line.substring(name.length()).trim())
                .findFirst().orElse("0");
    }

    private static Optional<String[]> entry(Path getent, String database, String key) {
        try {
            Process lookup = new ProcessBuilder(getent.toString(), database, key)
                    .redirectErrorStream(true).start();
            lookup.getOutputStream().close();
            String output = new String(lookup.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!lookup.waitFor(30, TimeUnit.SECONDS)) {
                lookup.destroyForcibly();
                throw new IllegalArgumentException("getent " + database + " " + key + " did not answer");
            }
            // Exit code 2: no such key.
            if (lookup.exitValue() != 0 || output.isBlank()) {
                return Optional.empty();
            }
            String[] fields = output.lines().findFirst().orElse("").split(":", -1);
            return fields.length >= 4 ? Optional.of(fields) : Optional.empty();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot run getent: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalArgumentException("interrupted while looking up " + key, e);
        }
    }

    private static boolean isNumber(String text) {
        return !text.isEmpty() && text.chars().allMatch(Character::isDigit);
    }

    private static int parseId(String text, String what) {
        try {
            long value = Long.parseLong(text.trim());
            // Up to 2^31-1: (uid_t) -1 means "unchanged" to the kernel and the helper, and is no one's id.
            if (value < 0 || value > Integer.MAX_VALUE) {
                throw new NumberFormatException();
            }
            return (int) value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " is not a usable id: " + text);
        }
    }
}
