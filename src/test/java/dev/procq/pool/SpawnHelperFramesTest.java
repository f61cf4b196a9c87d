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
    private volatile long helperClockAtHello;
    private volatile long jvmClockAtHello;

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
        send(HelperFrames.spawn(1, Specs.spec("true"), Path.of("/bin/true"), 0, null));

        await().atMost(Duration.ofSeconds(10)).until(() -> frames.size() == 1);
        assertThat(frames.get(0)).containsExactly(HelperFrames.ERROR, 0, 5, 0);
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
                // Half of them claim to be spawns, signals or deadlines, to reach the payload checks.
                byte[] checked = {HelperFrames.SPAWN, HelperFrames.SIGNAL, HelperFrames.DEADLINE};
                frame[4] = checked[random.nextInt(checked.length)];
            } else if (length > 0 && frame[4] == HelperFrames.SHUTDOWN) {
                // A real shutdown would end the helper, as it should; this test wants it serving.
                frame[4] = 0x7f;
            }
            send(frame);
            sent++;
        }
        // A valid spawn with one byte of its strings zeroed at a time: a NUL inside a string, a
        // count or length that no longer fits the frame. Each is refused.
        byte[] spawn = HelperFrames.spawn(7, Specs.spec("/bin/echo", "x"), Path.of("/bin/echo"), 0, null);
        // After length, type, id, tail bytes, linger, uid, gid and the limit count (zeroing a byte
        // of the uid or gid would make a valid spawn as some other user).
        int strings = 4 + 1 + 8 + 4 + 4 + 4 + 4 + 1;
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
                Map.of()), Path.of("/bin/echo"), 0, null));

        await().atMost(Duration.ofSeconds(30)).until(() -> frames.stream()
                .anyMatch(frame -> frame[0] == HelperFrames.EXITED && frame[1] == 42));
        assertThat(helper.isAlive()).as("helper alive after %d random frames (seed %d)", sent, seed).isTrue();
        assertThat(frames).as("seed %d", seed)
                .filteredOn(frame -> frame[0] == HelperFrames.SPAWNED)
                .extracting(frame -> frame[1]).containsExactly(42);
        assertThat(frames).filteredOn(frame -> frame[0] == HelperFrames.ERROR && frame[2] == 2).hasSize(1);
    }

    @Test
    void theHelperEndsAChildAtItsDeadlineWithNoWordFromTheWorker() throws Exception {
        send(HelperFrames.hello());
        await().atMost(Duration.ofSeconds(10)).until(() -> helperClockAtHello != 0);
        // A TERM-ignoring child: the helper must also send the KILL after the grace, by itself.
        send(HelperFrames.spawn(9, ChildSpec.of(List.of("/bin/sh", "-c", "trap '' TERM; sleep 30"), Map.of()),
                Path.of("/bin/sh"), 0, null));
        await().atMost(Duration.ofSeconds(10)).until(() -> frames.stream().anyMatch(f -> f[0] == HelperFrames.SPAWNED));
        long sentAt = System.nanoTime();
        // Moved once, as a renewal does: only the later deadline counts.
        send(HelperFrames.deadline(9, helperNow() + Duration.ofMillis(300).toNanos(), Duration.ofMillis(300)));
        send(HelperFrames.deadline(9, helperNow() + Duration.ofSeconds(60).toNanos(), Duration.ofMillis(300)));
        Thread.sleep(500);
        assertThat(frames).noneMatch(f -> f[0] == HelperFrames.EXITED);
        send(HelperFrames.deadline(9, helperNow() + Duration.ofMillis(200).toNanos(), Duration.ofMillis(300)));

        await().atMost(Duration.ofSeconds(10)).until(() -> frames.stream().anyMatch(f -> f[0] == HelperFrames.EXITED));
        int[] exit = frames.stream().filter(f -> f[0] == HelperFrames.EXITED).findFirst().orElseThrow();
        assertThat(exit[2] & HelperFrames.EXIT_FENCED).as("flags %x", exit[2]).isNotZero();
        assertThat(exit[2] & HelperFrames.EXIT_SIGNALLED).isNotZero();
        assertThat(exit[3]).as("killed by").isEqualTo(9);
        // 500 ms of waiting, the 200 ms deadline and the 300 ms grace; a lot less than the sleep.
        assertThat(Duration.ofNanos(System.nanoTime() - sentAt)).isBetween(Duration.ofMillis(900), Duration.ofSeconds(5));
    }

    /** The helper's clock now, from what it said in its hello. */
    private long helperNow() {
        return helperClockAtHello + (System.nanoTime() - jvmClockAtHello);
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
                if (type == HelperFrames.HELLO_ACK) {
                    payload.position(payload.position() + 12);
                    jvmClockAtHello = System.nanoTime();
                    helperClockAtHello = payload.getLong();
                    frames.add(new int[] {type, 0, 0, 0});
                    continue;
                }
                int id = (int) payload.getLong();
                // Errors: their code. Exits: their flags, then the exit code or signal.
                int code = type == HelperFrames.ERROR || type == HelperFrames.EXITED ? payload.getInt() : 0;
                int status = type == HelperFrames.EXITED ? payload.getInt() : 0;
                frames.add(new int[] {type, id, code, status});
            }
        } catch (IOException end) {
            // the helper is gone
        }
    }
}
