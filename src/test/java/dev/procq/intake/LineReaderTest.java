package dev.procq.intake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Lines as a text/plain body gives them, including lines cut by the reader's buffer. */
class LineReaderTest {
    private static List<String> lines(String body, int maxLength) throws Exception {
        return lines(body.getBytes(StandardCharsets.UTF_8), maxLength);
    }

    private static List<String> lines(byte[] body, int maxLength) throws Exception {
        List<String> lines = new ArrayList<>();
        try (LineReader reader = new LineReader(new ByteArrayInputStream(body), maxLength)) {
            String line;
            while ((line = reader.next()) != null) lines.add(line);
        }
        return lines;
    }

    @Test
    void everyLineEndingEndsALineAndTheLastLineNeedsNone() throws Exception {
        assertThat(lines("a\nb\r\nc\rd", 100)).containsExactly("a", "b", "c", "d");
        assertThat(lines("a\n\nb\n", 100)).containsExactly("a", "", "b");
        assertThat(lines("", 100)).isEmpty();
        assertThat(lines("\r\n", 100)).containsExactly("");
    }

    @Test
    void linesCutByTheBufferComeOutWhole() throws Exception {
        StringBuilder body = new StringBuilder();
        List<String> expected = new ArrayList<>();
        for (int i = 0; body.length() < 300_000; i++) {
            String line = "/srv/photos/" + "x".repeat(i % 97) + "/img_" + i + ".jpg";
            expected.add(line);
            body.append(line).append(i % 3 == 0 ? "\r\n" : "\n");
        }
        assertThat(lines(body.toString(), 4096)).containsExactlyElementsOf(expected);
    }

    @Test
    void crLfSplitByTheBufferIsOneLineEnd() throws Exception {
        // 64 Ki chars fill the buffer exactly, so the \r ends one read and the \n starts the next.
        String first = "a".repeat(64 * 1024 - 1);
        assertThat(lines(first + "\r\nb\n", 100_000)).containsExactly(first, "b");
    }

    @Test
    void aLineLongerThanTheLimitIsRefusedWithItsNumber() {
        String body = "ok\n" + "y".repeat(200_000) + "\nnever read\n";
        assertThatThrownBy(() -> lines(body, 1000))
                .isInstanceOf(LineReader.LineTooLongException.class)
                .satisfies(e -> assertThat(((LineReader.LineTooLongException) e).lineNumber()).isEqualTo(2));
        assertThat(catchLength("z".repeat(1000) + "\n")).isEqualTo(1000);
    }

    private static int catchLength(String body) {
        try {
            return lines(body, 1000).get(0).length();
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void invalidUtf8IsRefused() {
        byte[] body = {'a', '\n', (byte) 0xC3, (byte) 0x28, '\n'};
        assertThatThrownBy(() -> lines(body, 100)).isInstanceOf(CharacterCodingException.class);
    }
}
