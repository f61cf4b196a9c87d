package dev.procq.intake;

import com.drew.imaging.FileType;
import com.drew.imaging.FileTypeDetector;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Set;

/**
 * The {@code meta} of a scanned file: its path below the root, size, modification time and,
 * for images, what {@link ImageHeaders} reads. A file that cannot be read still gets its facts
 * with an "error"; phase 2 decides what that means.
 */
final class FileFacts {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Enough for the type's magic bytes and most headers in one read; the stream grows past it when a header is longer. */
    private static final int BUFFER_BYTES = 16 * 1024;
    static final Set<String> IMAGE_EXTENSIONS = Set.of("jpg", "jpeg", "jpe", "jfif", "png", "gif", "bmp", "webp",
            "tif", "tiff", "heic", "heif", "avif", "psd", "ico", "arw", "cr2", "cr3", "crw", "nef", "orf", "raf",
            "rw2", "dng");

    /** @param file a regular file, not a symlink: it is opened without following links */
    String describe(Path file, String relative, BasicFileAttributes attributes) {
        ObjectNode meta = JSON.createObjectNode();
        meta.put("path", relative);
        meta.put("size", attributes.size());
        meta.put("mtime", attributes.lastModifiedTime().toInstant().truncatedTo(ChronoUnit.MILLIS).toString());
        boolean imageName = IMAGE_EXTENSIONS.contains(extension(relative));
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS), BUFFER_BYTES)) {
            FileType type = FileTypeDetector.detectFileType(in);
            if (ImageHeaders.IMAGE_TYPES.contains(type)) {
                ImageHeaders.read(in, type, attributes.size(), meta);
            } else if (imageName) {
                meta.put("error", attributes.size() == 0 ? "empty file"
                        : "not an image: " + (type == FileType.Unknown ? "unknown content" : type.getName() + " content"));
            }
        } catch (IOException e) {
            meta.put("error", "cannot read: " + describe(e));
        }
        return meta.toString();
    }

    static String extension(String name) {
        int dot = name.lastIndexOf('.');
        int slash = name.lastIndexOf('/');
        return dot < 0 || dot < slash ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    /** An I/O failure as a short reason, without the stack or the absolute path twice. */
    static String describe(IOException e) {
        if (e instanceof NoSuchFileException) return "no such file (it vanished during the scan)";
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof FileSystemException fs && fs.getReason() != null) return fs.getReason();
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
