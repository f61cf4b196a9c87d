package dev.procq.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The helper speaks to one worker, but it must never crash or start anything on a frame that is
 * not what the protocol says: random bytes get error frames, and it goes on serving.
 */
class SpawnHelperFramesTest {

    private HelperBinary binary;
    private Process helper;
    private OutputStream toHelper;
    private final List<int[]> frames = new CopyOnWriteArrayList<>();

    @BeforeEach
    void startHelper() throws Exception {
        binary = HelperBinary.extract();
        helper = new ProcessBuilder(binary.executable().toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        toHelper = helper.getOutputStream();
        Thread reader = new Thread(this::readFrames, "frames-test-reader");
        reader.setDaemon(true);
        reader.start();
    }

    @AfterEach
    void stopHelper() {
        helper.destroyForcibly();
        binary.delete();
    }

    @Test
    void everyFrameBeforeHelloIsRefused() throws Exception {
        send(HelperFrames.spawn(1, Specs.spec("true"), Path.of("/bin/true"), 0));

        await().atMost(Duration.ofSeconds(10)).until(() -> frames.size() == 1);
        assertThat(frames.get(0)).containsExactly(HelperFrames.ERROR, 0, 5);
        assertThat(helper.isAlive()).isTrue();
    }

    @Test
    void randomFramesGetErrorsStartNothingAndLeaveTheHelperServing() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        send(HelperFrames.hello());
        int sent = 0;
        for (int round = 0; round < 2000; round++) {
            int length = random.nextInt(300);
            byte[] frame = new byte[4 + length];
            random.nextBytes(frame);
            ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN).putInt(0, length);
            if (length > 0 && random.nextBoolean()) {
                // Half of them claim to be spawns or signals, to reach the payload checks.
                frame[4] = random.nextBoolean() ? HelperFrames.SPAWN : HelperFrames.SIGNAL;
            } else if (length > 0 && frame[4] == HelperFrames.SHUTDOWN) {
                // A real shutdown would end the helper, as it should; this test wants it serving.
                frame[4] = 0x7f;
            }
            send(frame);
            sent++;
        }
        // A valid spawn with one byte of its strings zeroed at a time: a NUL inside a string, a
        // count or length that no longer fits the frame. Each is refused.
        byte[] spawn = HelperFrames.spawn(7, Specs.spec("/bin/echo", "x"), Path.of("/bin/echo"), 0);
        int strings = 4 + 1 + 8 + 4 + 4 + 1;
        for (int position = strings; position < spawn.length; position++) {
            if (spawn[position] != 0) {
                byte[] broken = spawn.clone();
                broken[position] = 0;
                send(broken);
            }
        }
        // A frame over the limit: refused, its bytes read and dropped.
        byte[] oversized = new byte[4 + HelperFrames.MAX_FRAME_TO_HELPER + 1];
        ByteBuffer.wrap(oversized).order(ByteOrder.LITTLE_ENDIAN).putInt(0, oversized.length - 4);
        send(oversized);
        send(HelperFrames.spawn(42, ChildSpec.of(List.of("/bin/echo", "still", "serving"),
                Map.of()), Path.of("/bin/echo"), 0));

        await().atMost(Duration.ofSeconds(30)).until(() -> frames.stream()
                .anyMatch(frame -> frame[0] == HelperFrames.EXITED && frame[1] == 42));
        assertThat(helper.isAlive()).as("helper alive after %d random frames (seed %d)", sent, seed).isTrue();
        assertThat(frames).as("seed %d", seed)
                .filteredOn(frame -> frame[0] == HelperFrames.SPAWNED)
                .extracting(frame -> frame[1]).containsExactly(42);
        assertThat(frames).filteredOn(frame -> frame[0] == HelperFrames.ERROR && frame[2] == 2).hasSize(1);
    }

    private void send(byte[] frame) throws IOException {
        toHelper.write(frame);
        toHelper.flush();
    }

    /** Keeps each frame's type, id and (for errors) code. */
    private void readFrames() {
        try (DataInputStream in = new DataInputStream(helper.getInputStream())) {
            while (true) {
                int length = Integer.reverseBytes(in.readInt());
                byte[] body = new byte[length];
                in.readFully(body);
                ByteBuffer payload = ByteBuffer.wrap(body, 1, length - 1).order(ByteOrder.LITTLE_ENDIAN);
                int type = body[0] & 0xff;
                int id = type == HelperFrames.HELLO_ACK ? 0 : (int) payload.getLong();
                int code = type == HelperFrames.ERROR ? payload.getInt() : 0;
                frames.add(new int[] {type, id, code});
            }
        } catch (IOException end) {
            // the helper is gone
        }
    }
}
