package dev.procq.pool;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Set;

/**
 * The spawn helper's executable, shipped inside the jar for the build machine's architecture and
 * written once per worker into a directory only the worker's user can enter.
 */
final class HelperBinary {

    static final String NAME = "procq-spawnd";

    private static final Set<PosixFilePermission> DIRECTORY_MODE =
            PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> BINARY_MODE =
            PosixFilePermissions.fromString("r-x------");

    private final Path directory;
    private final Path executable;

    private HelperBinary(Path directory, Path executable) {
        this.directory = directory;
        this.executable = executable;
    }

    /** Where the build puts the helper among the classes: one per OS and architecture. */
    static String resourceName() {
        return "/dev/procq/pool/native/" + System.getProperty("os.name").toLowerCase() + "-"
                + System.getProperty("os.arch") + "/" + NAME;
    }

    /**
     * Writes the helper into a new private directory and checks that what is there is what the
     * jar holds, owned by this user and writable by nobody.
     */
    static HelperBinary extract() throws SpawnHelperUnavailable {
        byte[] shipped;
        try (InputStream in = HelperBinary.class.getResourceAsStream(resourceName())) {
            if (in == null) {
                throw new SpawnHelperUnavailable("this build has no " + NAME + " for "
                        + System.getProperty("os.name") + "/" + System.getProperty("os.arch")
                        + " (no C compiler when it was built?)");
            }
            shipped = in.readAllBytes();
        } catch (IOException e) {
            throw new SpawnHelperUnavailable("cannot read " + resourceName() + " from the jar: "
                    + e.getMessage(), e);
        }
        removeLeftovers();
        Path directory = null;
        try {
            // The pid in the name lets a later worker remove what a killed one left behind.
            directory = Files.createTempDirectory(NAME + "-" + ProcessHandle.current().pid() + "-",
                    PosixFilePermissions.asFileAttribute(DIRECTORY_MODE));
            Path executable = directory.resolve(NAME);
            Files.write(executable, shipped);
            Files.setPosixFilePermissions(executable, BINARY_MODE);
            HelperBinary binary = new HelperBinary(directory, executable);
            binary.check(shipped);
            return binary;
        } catch (IOException | UnsupportedOperationException e) {
            deleteQuietly(directory);
            throw new SpawnHelperUnavailable("cannot write " + NAME + " to a private directory in "
                    + System.getProperty("java.io.tmpdir") + ": " + e, e);
        } catch (SpawnHelperUnavailable e) {
            deleteQuietly(directory);
            throw e;
        }
    }

    /**
     * Deletes the helper directories of this user's workers that are gone (a worker killed with
     * SIGKILL cannot delete its own).
     */
    private static void removeLeftovers() {
        Path temporary = Path.of(System.getProperty("java.io.tmpdir"));
        String user = System.getProperty("user.name");
        try (java.nio.file.DirectoryStream<Path> entries =
                Files.newDirectoryStream(temporary, NAME + "-*-*")) {
            for (Path entry : entries) {
                String[] parts = entry.getFileName().toString().split("-");
                long pid;
                try {
                    pid = Long.parseLong(parts[2]);
                } catch (NumberFormatException | ArrayIndexOutOfBoundsException notOurs) {
                    continue;
                }
                boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
                if (!alive && Files.getOwner(entry, LinkOption.NOFOLLOW_LINKS).getName().equals(user)) {
                    deleteQuietly(entry);
                }
            }
        } catch (IOException | RuntimeException unreadable) {
            // Leftovers are harmless 0700 directories; a worker starts regardless.
        }
    }

    Path executable() {
        return executable;
    }

    /** Removes the extracted helper; a running helper keeps its open file. */
    void delete() {
        deleteQuietly(directory);
    }

    private void check(byte[] shipped) throws IOException, SpawnHelperUnavailable {
        PosixFileAttributes directoryAttributes = Files.readAttributes(directory,
                PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        PosixFileAttributes binaryAttributes = Files.readAttributes(executable,
                PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        String user = System.getProperty("user.name");
        if (!directoryAttributes.isDirectory()
                || !directoryAttributes.permissions().equals(DIRECTORY_MODE)
                || !binaryAttributes.isRegularFile()
                || !binaryAttributes.permissions().equals(BINARY_MODE)
                || !binaryAttributes.owner().getName().equals(user)) {
            throw new SpawnHelperUnavailable(executable + " is not a private file of " + user);
        }
        if (!Arrays.equals(sha256(Files.readAllBytes(executable)), sha256(shipped))) {
            throw new SpawnHelperUnavailable(executable + " differs from the helper in the jar");
        }
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static void deleteQuietly(Path directory) {
        if (directory == null) {
            return;
        }
        try {
            Files.deleteIfExists(directory.resolve(NAME));
            Files.deleteIfExists(directory);
        } catch (IOException ignored) {
            // A leftover 0700 directory in the temporary directory harms nobody.
        }
    }
}
