package dev.procq.testing;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import javax.imageio.ImageIO;

/** Real image files for tests, written by the JDK: JPEGs of a given size, optionally with an EXIF block. */
public final class TestImages {
    private TestImages() {
    }

    public static byte[] jpeg(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setColor(Color.ORANGE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.BLUE);
        g.fillRect(0, 0, width / 2, height / 3);
        g.dispose();
        return write(image, "jpg");
    }

    public static byte[] png(int width, int height) {
        return write(new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB), "png");
    }

    /**
     * A JPEG with an EXIF APP1 segment right after SOI holding Orientation and
     * DateTimeOriginal (+ OffsetTimeOriginal when {@code offset} is not null), as a camera writes them.
     */
    public static byte[] jpegWithExif(int width, int height, int orientation, String dateTimeOriginal, String offset) {
        byte[] plain = jpeg(width, height);
        byte[] tiff = exifTiff(orientation, dateTimeOriginal, offset);
        byte[] preamble = "Exif\0\0".getBytes(StandardCharsets.US_ASCII);
        int segmentLength = 2 + preamble.length + tiff.length;
        ByteBuffer out = ByteBuffer.allocate(plain.length + 2 + segmentLength);
        out.put(plain, 0, 2); // SOI
        out.put((byte) 0xFF).put((byte) 0xE1).putShort((short) segmentLength).put(preamble).put(tiff);
        out.put(plain, 2, plain.length - 2);
        return out.array();
    }

    /** Big-endian TIFF: IFD0 {Orientation, ExifIFD pointer}, ExifIFD {DateTimeOriginal[, OffsetTimeOriginal]}, then the strings. */
    private static byte[] exifTiff(int orientation, String date, String offset) {
        byte[] dateBytes = (date + "\0").getBytes(StandardCharsets.US_ASCII);
        byte[] offsetBytes = offset == null ? new byte[0] : (offset + "\0").getBytes(StandardCharsets.US_ASCII);
        int exifEntries = offset == null ? 1 : 2;
        int ifd0At = 8;
        int exifAt = ifd0At + 2 + 2 * 12 + 4;
        int dataAt = exifAt + 2 + exifEntries * 12 + 4;
        ByteBuffer tiff = ByteBuffer.allocate(dataAt + dateBytes.length + offsetBytes.length);
        tiff.put((byte) 'M').put((byte) 'M').putShort((short) 42).putInt(ifd0At);
        tiff.putShort((short) 2);
        tiff.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation).putShort((short) 0);
        tiff.putShort((short) 0x8769).putShort((short) 4).putInt(1).putInt(exifAt);
        tiff.putInt(0);
        tiff.putShort((short) exifEntries);
        tiff.putShort((short) 0x9003).putShort((short) 2).putInt(dateBytes.length).putInt(dataAt);
        if (offset != null) {
            tiff.putShort((short) 0x9011).putShort((short) 2).putInt(offsetBytes.length).putInt(dataAt + dateBytes.length);
        }
        tiff.putInt(0);
        tiff.put(dateBytes).put(offsetBytes);
        return tiff.array();
    }

    private static byte[] write(BufferedImage image, String format) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (!ImageIO.write(image, format, out)) throw new IllegalStateException("no ImageIO writer for " + format);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
