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
 * ever listed.
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
        if (roots.isEmpty()) {
            throw IntakeException.badRequest("scan is not available: no scan roots are configured (PROCQ_SCAN_ROOTS)");
        }
        Path configured = roots.get(request.root());
        if (configured == null) {
            throw new IntakeException(400, "unknown scan root '" + request.root() + "' (known: "
                    + String.join(", ", roots.keySet()) + ")", Map.of("root", request.root(), "known", roots.keySet()));
        }
        ScanGlob glob = ScanGlob.parse(request.glob());
        Path root;
        try {
            // The root's own symlinks are the operator's choice; resolve them once so every
            // target below is a real path and "inside the root" is a plain prefix test.
            root = configured.toRealPath();
        } catch (IOException e) {
            throw unavailable(request.root(), configured, FileFacts.describe(e));
        }
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            throw unavailable(request.root(), configured, "not a directory");
        }
        return new DirectoryScan(request.root(), root, glob, facts, readers);
    }

    private static IntakeException unavailable(String name, Path configured, String reason) {
        return new IntakeException(503, "scan root '" + name + "' (" + configured + ") cannot be read on the API host: "
                + reason, Map.of("root", name));
    }
}
