package dev.procq.intake;

import java.io.IOException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Walks one scan root and hands every regular file that matches the glob to intake, with its
 * facts, as it is found. Targets are absolute real paths inside the root. Symlinks are never
 * followed into directories; a symlink to a file counts only when the file is inside the root.
 * Whatever is passed over is counted by reason in the {@link ScanSummary}.
 *
 * <p>Reading a file's header costs more than listing it, so headers are read by a small pool
 * while the walk goes on; rows still reach COPY in the order the walk found them, and at
 * most {@link #IN_FLIGHT} files are held in between.
 */
final class DirectoryScan implements Intake.TargetSource {
    private static final Logger log = LoggerFactory.getLogger(DirectoryScan.class);
    static final int EXAMPLE_LIMIT = 20;
    static final int IN_FLIGHT = 1024;

    static final String SYMLINK_OUT_OF_ROOT = "symlinkOutOfRoot";
    static final String SYMLINK_TO_DIRECTORY = "symlinkToDirectory";
    static final String BROKEN_SYMLINK = "brokenSymlink";
    static final String NOT_REGULAR_FILE = "notRegularFile";
    static final String UNREADABLE = "unreadable";
    static final String NAME_NOT_REPRESENTABLE = "nameNotRepresentable";

    private final String rootName;
    private final Path root;
    private final ScanGlob glob;
    private final FileFacts facts;
    private final Executor readers;
    private final ArrayDeque<Found> inFlight = new ArrayDeque<>();
    private final Map<String, Long> skipped = new TreeMap<>();
    private final List<ScanSummary.Skipped> examples = new ArrayList<>();
    private long recorded;

    DirectoryScan(String rootName, Path realRoot, ScanGlob glob, FileFacts facts, Executor readers) {
        this.rootName = rootName;
        this.root = realRoot;
        this.glob = glob;
        this.facts = facts;
        this.readers = readers;
    }

    @Override
    public void forEach(Intake.TargetSink sink) throws IOException, SQLException {
        long started = System.nanoTime();
        try {
            Path start = startingDirectory();
            if (start != null) {
                Files.walkFileTree(start, EnumSet.noneOf(FileVisitOption.class), Integer.MAX_VALUE, new Visitor(sink));
            }
            while (!inFlight.isEmpty()) hand(sink);
        } catch (SinkFailed e) {
            throw e.getCause();
        } catch (IOException e) {
            throw new IntakeException(503, "scan of root '" + rootName + "' failed: " + FileFacts.describe(e), Map.of("root", rootName));
        } finally {
            // on a refusal mid-walk the rest is never recorded; stop reading it
            inFlight.forEach(found -> found.meta.cancel(false));
            inFlight.clear();
        }
        log.info("scan {}:{} recorded {} file(s) in {} ms{}", rootName, glob.text(), recorded,
                (System.nanoTime() - started) / 1_000_000, skipped.isEmpty() ? "" : ", skipped " + skipped);
        if (recorded == 0) {
            throw new IntakeException(400, "scan " + rootName + ":" + glob.text() + " matched no files"
                    + (skipped.isEmpty() ? "" : " it could record (skipped: " + skipped + ")"),
                    Map.of("scan", summary()));
        }
    }

    /** Where the walk begins: the root, or the directories the glob names literally, if they really are directories below it. */
    private Path startingDirectory() {
        String literal = glob.literalDirectories();
        if (literal.isEmpty()) return root;
        Path start = root.resolve(literal).normalize();
        try {
            // equal only when no part of it is a symlink: those are never followed, here neither
            if (start.startsWith(root) && start.toRealPath().equals(start)
                    && Files.isDirectory(start, LinkOption.NOFOLLOW_LINKS)) {
                return start;
            }
            skip(root.relativize(start), SYMLINK_TO_DIRECTORY, "the glob's directory is reached through a symlink, not followed");
        } catch (IOException e) {
            // nothing there: nothing matches
        }
        return null;
    }

    ScanSummary summary() {
        return new ScanSummary(rootName, glob.text(), recorded, Collections.unmodifiableMap(new TreeMap<>(skipped)),
                List.copyOf(examples));
    }

    /** Passes the oldest file found to intake once its facts are read. */
    private void hand(Intake.TargetSink sink) {
        Found found = inFlight.removeFirst();
        String meta;
        try {
            meta = found.meta.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
        try {
            sink.add(found.target, meta, found.position);
        } catch (SQLException e) {
            throw new SinkFailed(e);
        }
        recorded++;
    }

    private record Found(String target, String position, CompletableFuture<String> meta) {
    }

    private void skip(Path relative, String reason, String detail) {
        skipped.merge(reason, 1L, Long::sum);
        if (examples.size() < EXAMPLE_LIMIT) examples.add(new ScanSummary.Skipped(relative.toString(), reason, detail));
    }

    private final class Visitor extends SimpleFileVisitor<Path> {
        private final Intake.TargetSink sink;

        Visitor(Intake.TargetSink sink) {
            this.sink = sink;
        }

        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) throws IOException {
            Path relative = root.relativize(file);
            if (attributes.isSymbolicLink()) {
                symlink(file, relative);
            } else if (glob.matches(relative)) {
                if (attributes.isRegularFile()) {
                    record(file, relative, attributes);
                } else {
                    // a FIFO is never opened: reading one would wait for a writer forever
                    skip(relative, NOT_REGULAR_FILE, "not a regular file (device, FIFO or socket)");
                }
            }
            return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException failure) {
            skip(root.relativize(file), UNREADABLE, FileFacts.describe(failure));
            return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException failure) {
            if (failure != null) skip(root.relativize(dir), UNREADABLE, "listing broke off: " + FileFacts.describe(failure));
            return FileVisitResult.CONTINUE;
        }

        private void symlink(Path link, Path relative) throws IOException {
            Path real;
            BasicFileAttributes target;
            try {
                real = link.toRealPath();
                target = Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (IOException e) {
                if (glob.matches(relative)) skip(relative, BROKEN_SYMLINK, FileFacts.describe(e));
                return;
            }
            boolean inside = real.startsWith(root);
            if (target.isDirectory()) {
                // Never descended into, wherever it points: no loops, no second copy of a subtree, no way out.
                skip(relative, inside ? SYMLINK_TO_DIRECTORY : SYMLINK_OUT_OF_ROOT, "symlink to a directory, not followed");
                return;
            }
            if (!glob.matches(relative)) return;
            if (!inside) {
                skip(relative, SYMLINK_OUT_OF_ROOT, "symlink to a file outside the root");
            } else if (!target.isRegularFile()) {
                skip(relative, NOT_REGULAR_FILE, "symlink to something that is not a regular file");
            } else {
                record(real, relative, target);
            }
        }

        private void record(Path file, Path relative, BasicFileAttributes attributes) throws IOException {
            String target = file.toString();
            // A name whose bytes do not decode in the JVM's file-name encoding would become a
            // target that names another (or no) file; say so instead of recording a wrong row.
            if (!Path.of(target).equals(file)) {
                skip(relative, NAME_NOT_REPRESENTABLE, "file name is not valid in this JVM's file-name encoding ("
                        + System.getProperty("sun.jnu.encoding") + "); run procq with a UTF-8 locale such as LANG=C.UTF-8");
                return;
            }
            String path = relative.toString();
            inFlight.addLast(new Found(target, "scan " + rootName + ":" + path,
                    CompletableFuture.supplyAsync(() -> facts.describe(file, path, attributes), readers)));
            if (inFlight.size() >= IN_FLIGHT) hand(sink);
        }
    }

    /** Carries a database failure out of the file visitor, whose methods may only throw IOException. */
    private static final class SinkFailed extends RuntimeException {
        SinkFailed(SQLException cause) {
            super(cause);
        }

        @Override
        public synchronized SQLException getCause() {
            return (SQLException) super.getCause();
        }
    }
}
