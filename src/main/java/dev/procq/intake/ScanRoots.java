package dev.procq.intake;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The directories batches may be scanned from, by name (PROCQ_SCAN_ROOTS). A request names
 * a root and gives a glob; it never gives a path, so nothing outside these directories is
 * ever listed or read.
 */
public final class ScanRoots {
    private final Map<String, Path> roots;
    /** Threads reading file headers for all scans; more than cores, because a cold disk makes them wait. */
    static final int READERS = Math.min(16, Math.max(4, 2 * Runtime.getRuntime().availableProcessors()));

    private final FileFacts facts = new FileFacts();
    private final ExecutorService readers = Executors.newFixedThreadPool(READERS, runnable -> {
        Thread thread = new Thread(runnable, "procq-scan-reader");
        thread.setDaemon(true);
        return thread;
    });

    public ScanRoots(Map<String, Path> roots) {
        this.roots = Collections.unmodifiableMap(new LinkedHashMap<>(roots));
    }

    public static ScanRoots none() {
        return new ScanRoots(Map.of());
    }

    /** Checks the request against the configuration and returns the scan, or throws the reason it is refused. */
    DirectoryScan prepare(ScanRequest request) {
        Path root = realRoot(request.root());
        ScanGlob glob = ScanGlob.parse(request.glob());
        return new DirectoryScan(request.root(), root, glob, facts, readers);
    }

    /**
     * The file of targets a request names, as a real path inside its root: a path that is absolute,
     * climbs out with {@code ..} or leads out through a symlink is refused, as a scan never lists
     * outside its root.
     */
    Path prepareFile(FileRequest request) {
        Path root = realRoot(request.root());
        Path relative;
        try {
            relative = Path.of(request.path());
        } catch (java.nio.file.InvalidPathException e) {
            throw badFile(request, "not a path: " + e.getReason());
        }
        if (request.path().isEmpty() || relative.isAbsolute()) {
            throw badFile(request, "must be a path relative to the root");
        }
        Path file;
        try {
            file = root.resolve(relative).toRealPath();
        } catch (IOException e) {
            throw badFile(request, FileFacts.describe(e));
        }
        if (!file.startsWith(root)) throw badFile(request, "leads outside the root");
        if (!Files.isRegularFile(file)) throw badFile(request, "not a regular file");
        return file;
    }

    private static IntakeException badFile(FileRequest request, String reason) {
        return new IntakeException(400, "file.path '" + request.path() + "' in root '" + request.root() + "': " + reason,
                Map.of("root", request.root(), "path", request.path()));
    }

    /** The configured root of this name with its own symlinks resolved, or the reason it cannot be used. */
    private Path realRoot(String name) {
        if (roots.isEmpty()) {
            throw IntakeException.badRequest("scan is not available: no scan roots are configured (PROCQ_SCAN_ROOTS)");
        }
        Path configured = roots.get(name);
        if (configured == null) {
            throw new IntakeException(400, "unknown scan root '" + name + "' (known: "
                    + String.join(", ", roots.keySet()) + ")", Map.of("root", name, "known", roots.keySet()));
        }
        Path root;
        try {
            // The root's own symlinks are the operator's choice; resolve them once so every
            // target below is a real path and "inside the root" is a plain prefix test.
            root = configured.toRealPath();
        } catch (IOException e) {
            throw unavailable(name, configured, FileFacts.describe(e));
        }
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            throw unavailable(name, configured, "not a directory");
        }
        return root;
    }

    private static IntakeException unavailable(String name, Path configured, String reason) {
        return new IntakeException(503, "scan root '" + name + "' (" + configured + ") cannot be read on the API host: "
                + reason, Map.of("root", name));
    }
}
