package dev.procq.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class OutputTailTest {

    @Test
    void keepsEverythingWhileBelowCapacity() {
        OutputTail tail = new OutputTail(100);

        append(tail, "hello ");
        append(tail, "world");

        assertThat(tail.text()).isEqualTo("hello world");
        assertThat(tail.totalBytes()).isEqualTo(11);
    }

    @Test
    void keepsExactlyTheLastBytesWhateverTheChunks() {
        Random random = new Random(42);
        for (int capacity : new int[] {1, 7, 256, 1000, 4096}) {
            OutputTail tail = new OutputTail(capacity);
            ByteArrayOutputStream everything = new ByteArrayOutputStream();
            for (int chunkCount = 0; chunkCount < 500; chunkCount++) {
                byte[] chunk = new byte[random.nextInt(capacity * 3 + 1)];
                random.nextBytes(chunk);
                int offset = chunk.length == 0 ? 0 : random.nextInt(chunk.length);
                tail.append(chunk, offset, chunk.length - offset);
                everything.write(chunk, offset, chunk.length - offset);
                byte[] all = everything.toByteArray();

                assertThat(tail.bytes())
                        .as("capacity %d after %d chunks", capacity, chunkCount)
                        .isEqualTo(Arrays.copyOfRange(all, Math.max(0, all.length - capacity),
                                all.length));
            }
        }
    }

    @Test
    void zeroCapacityKeepsNothingButCounts() {
        OutputTail tail = new OutputTail(0);

        append(tail, "ignored");

        assertThat(tail.text()).isEmpty();
        assertThat(tail.totalBytes()).isEqualTo(7);
    }

    @Test
    void characterTornByTheCutIsDroppedNotShownAsGarbage() {
        OutputTail tail = new OutputTail(3);

        append(tail, "aaaa€b"); // € is three bytes; the last three bytes start inside it

        assertThat(tail.bytes()).hasSize(3);
        assertThat(tail.text()).isEqualTo("b");
    }

    @Test
    void malformedUtf8BecomesReplacementCharacters() {
        OutputTail tail = new OutputTail(100);

        tail.append(new byte[] {'o', 'k', (byte) 0xFF, '!'}, 0, 4);

        assertThat(tail.text()).isEqualTo("ok\uFFFD!");
    }

    private static void append(OutputTail tail, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        tail.append(bytes, 0, bytes.length);
    }
}
