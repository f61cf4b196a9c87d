package dev.procq.intake;

import com.drew.imaging.FileType;
import com.drew.imaging.ImageMetadataReader;
import com.drew.imaging.ImageProcessingException;
import com.drew.imaging.jpeg.JpegMetadataReader;
import com.drew.imaging.jpeg.JpegSegmentMetadataReader;
import com.drew.metadata.Directory;
import com.drew.metadata.Metadata;
import com.drew.metadata.bmp.BmpHeaderDirectory;
import com.drew.metadata.exif.ExifDirectoryBase;
import com.drew.metadata.exif.ExifIFD0Directory;
import com.drew.metadata.exif.ExifReader;
import com.drew.metadata.exif.ExifSubIFDDirectory;
import com.drew.metadata.gif.GifHeaderDirectory;
import com.drew.metadata.heif.HeifDirectory;
import com.drew.metadata.jpeg.JpegDirectory;
import com.drew.metadata.jpeg.JpegReader;
import com.drew.metadata.png.PngDirectory;
import com.drew.metadata.webp.WebpDirectory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a thumbnailer wants to know before it starts, read from an image's header with
 * drewnoakes' metadata-extractor: format, width, height, EXIF orientation and date.
 * Only headers are read; a JPEG is read up to its first scan, never its pixels.
 */
final class ImageHeaders {
    static final Set<FileType> IMAGE_TYPES = EnumSet.of(FileType.Jpeg, FileType.Png, FileType.Gif, FileType.Bmp,
            FileType.WebP, FileType.Tiff, FileType.Heif, FileType.Psd, FileType.Ico, FileType.Arw, FileType.Cr2,
            FileType.Crw, FileType.Crx, FileType.Nef, FileType.Orf, FileType.Raf, FileType.Rw2);
    /** EXIF says an image without the tag is upright; recording that spares templates a missing key. */
    static final int UPRIGHT = 1;
    private static final Pattern EXIF_DATE = Pattern.compile("^(\\d{4}):(\\d{2}):(\\d{2})[ T](\\d{2}):(\\d{2}):(\\d{2})");
    private static final Pattern OFFSET = Pattern.compile("^[+-]\\d{2}:\\d{2}$");

    /** Each tag pair is (width, height) in the directory where that format keeps its size. */
    private record SizeTags(Class<? extends Directory> directory, int width, int height) {
    }

    private static final List<SizeTags> SIZES = List.of(
            new SizeTags(JpegDirectory.class, JpegDirectory.TAG_IMAGE_WIDTH, JpegDirectory.TAG_IMAGE_HEIGHT),
            new SizeTags(PngDirectory.class, PngDirectory.TAG_IMAGE_WIDTH, PngDirectory.TAG_IMAGE_HEIGHT),
            new SizeTags(GifHeaderDirectory.class, GifHeaderDirectory.TAG_IMAGE_WIDTH, GifHeaderDirectory.TAG_IMAGE_HEIGHT),
            new SizeTags(WebpDirectory.class, WebpDirectory.TAG_IMAGE_WIDTH, WebpDirectory.TAG_IMAGE_HEIGHT),
            new SizeTags(BmpHeaderDirectory.class, BmpHeaderDirectory.TAG_IMAGE_WIDTH, BmpHeaderDirectory.TAG_IMAGE_HEIGHT),
            new SizeTags(HeifDirectory.class, HeifDirectory.TAG_IMAGE_WIDTH, HeifDirectory.TAG_IMAGE_HEIGHT),
            new SizeTags(ExifIFD0Directory.class, ExifDirectoryBase.TAG_IMAGE_WIDTH, ExifDirectoryBase.TAG_IMAGE_HEIGHT),
            new SizeTags(ExifSubIFDDirectory.class, ExifDirectoryBase.TAG_EXIF_IMAGE_WIDTH, ExifDirectoryBase.TAG_EXIF_IMAGE_HEIGHT));

    private ImageHeaders() {
    }

    /** Adds format, width, height, orientation and exifDate to {@code meta}, or an "error" saying why it cannot. */
    static void read(InputStream in, FileType type, long size, ObjectNode meta) throws IOException {
        meta.put("format", type.getName());
        Metadata metadata;
        try {
            metadata = type == FileType.Jpeg
                    ? JpegMetadataReader.readMetadata(in, jpegReaders())
                    : ImageMetadataReader.readMetadata(in, size, type);
        } catch (ImageProcessingException e) {
            meta.put("error", "unreadable " + type.getName() + " header: " + e.getMessage());
            return;
        } catch (EOFException e) {
            meta.put("error", "unreadable " + type.getName() + " header: the file ends inside it");
            return;
        } catch (RuntimeException e) {
            // The library is robust, not perfect: a hostile file must cost its row an error, not the batch.
            meta.put("error", "unreadable " + type.getName() + " header: " + e);
            return;
        }
        Integer width = null;
        Integer height = null;
        for (SizeTags tags : SIZES) {
            Directory directory = metadata.getFirstDirectoryOfType(tags.directory());
            if (directory == null) continue;
            Integer w = directory.getInteger(tags.width());
            Integer h = directory.getInteger(tags.height());
            if (w != null && h != null && w > 0 && h > 0) {
                width = w;
                height = h;
                break;
            }
        }
        if (width == null) {
            meta.put("error", "no image size in the " + type.getName() + " header" + firstError(metadata));
            return;
        }
        meta.put("width", width);
        meta.put("height", height);
        ExifIFD0Directory ifd0 = metadata.getFirstDirectoryOfType(ExifIFD0Directory.class);
        Integer orientation = ifd0 == null ? null : ifd0.getInteger(ExifDirectoryBase.TAG_ORIENTATION);
        meta.put("orientation", orientation != null && orientation >= 1 && orientation <= 8 ? orientation : UPRIGHT);
        String date = exifDate(metadata.getFirstDirectoryOfType(ExifSubIFDDirectory.class), ifd0);
        if (date != null) meta.put("exifDate", date);
    }

    /** Header segments only: the frame header (size) and EXIF; XMP, ICC and the rest are not parsed. */
    private static Iterable<JpegSegmentMetadataReader> jpegReaders() {
        return List.of(new JpegReader(), new ExifReader());
    }

    /** DateTimeOriginal, else DateTime, as ISO-8601 local time, with the EXIF offset when the file has one. */
    static String exifDate(ExifSubIFDDirectory subIfd, ExifIFD0Directory ifd0) {
        String raw = subIfd == null ? null : subIfd.getString(ExifDirectoryBase.TAG_DATETIME_ORIGINAL);
        String offset = subIfd == null ? null : subIfd.getString(ExifDirectoryBase.TAG_TIME_ZONE_ORIGINAL);
        if (raw == null && ifd0 != null) {
            raw = ifd0.getString(ExifDirectoryBase.TAG_DATETIME);
            offset = subIfd == null ? null : subIfd.getString(ExifDirectoryBase.TAG_TIME_ZONE);
        }
        if (raw == null) return null;
        Matcher m = EXIF_DATE.matcher(raw.trim());
        // "0000:00:00 00:00:00" is how cameras without a clock say "unknown"
        if (!m.find() || m.group(1).equals("0000")) return null;
        String iso = m.group(1) + "-" + m.group(2) + "-" + m.group(3) + "T" + m.group(4) + ":" + m.group(5) + ":" + m.group(6);
        if (offset != null && OFFSET.matcher(offset.trim()).matches()) iso += offset.trim();
        return iso;
    }

    private static String firstError(Metadata metadata) {
        for (Directory directory : metadata.getDirectories()) {
            for (String error : directory.getErrors()) return " (" + error + ")";
        }
        return "";
    }
}
