package dev.procq.pool;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running spawn helper process and its control pipe: frames go out on its stdin from any
 * thread, and one reader thread takes its answers and hands each to the child it names.
 */
final class HelperConnection {

    private static final Logger log = LoggerFactory.getLogger(HelperConnection.class);
    /** The reader only decodes frames; the JVM's default stack would be waste. */
    private static final long READER_STACK_BYTES = 256 * 1024;

    /**
     * What the helper said of itself in its hello.
     *
     * @param clockOffsetNanos the helper's CLOCK_MONOTONIC minus this JVM's {@link System#nanoTime}
     */
    record Hello(int version, int features, long pid, long clockOffsetNanos) {
        /** A moment on this JVM's clock, on the helper's. */
        long helperNanos(long jvmNanos) {
            return jvmNanos + clockOffsetNanos;
        }
    }

    private final Process process;
    private final OutputStream toHelper;
    private final DataInputStream fromHelper;
    private final Map<Long, HelperChild> children = new ConcurrentHashMap<>();
    private final CompletableFuture<Hello> hello = new CompletableFuture<>();
    private final Consumer<HelperConnection> onDeath;
    private volatile boolean dead;

    private HelperConnection(Process process, Consumer<HelperConnection> onDeath) {
        this.process = process;
        this.toHelper = new BufferedOutputStream(process.getOutputStream(), 64 * 1024);
        this.fromHelper = new DataInputStream(
                new BufferedInputStream(process.getInputStream(), 64 * 1024));
        this.onDeath = onDeath;
    }

    /**
     * Starts the helper and waits for its hello. Call it from a thread that lives as long as the
     * helper should: the helper's PR_SET_PDEATHSIG follows the thread that started it.
     *
     * @param onDeath called once, on the reader thread, when the helper is gone
     */
    static HelperConnection start(Path executable, Duration handshakeTimeout,
            Consumer<HelperConnection> onDeath) throws SpawnHelperUnavailable {
        ProcessBuilder builder = new ProcessBuilder(executable.toString());
        // The helper needs no environment, and a child of another user must find nothing in it.
        builder.environment().clear();
        builder.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new SpawnHelperUnavailable("cannot run " + executable + ": " + e.getMessage()
                    + " (is " + executable.getParent() + " on a noexec mount?)", e);
        }
        HelperConnection connection = new HelperConnection(process, onDeath);
        Thread reader = new Thread(null, connection::readFrames,
                "procq-spawnd-reader-" + process.pid(), READER_STACK_BYTES);
        reader.setDaemon(true);
        reader.start();
        try {
            connection.send(HelperFrames.hello());
            Hello said = connection.hello.get(handshakeTimeout.toMillis(), TimeUnit.MILLISECONDS);
            if (said.version() != HelperFrames.PROTOCOL_VERSION) {
                throw new SpawnHelperUnavailable("helper speaks protocol " + said.version()
                        + ", the worker " + HelperFrames.PROTOCOL_VERSION);
            }
            return connection;
        } catch (IOException | ExecutionException | TimeoutException e) {
            process.destroyForcibly();
            throw new SpawnHelperUnavailable("the helper did not answer hello: " + e, e);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new SpawnHelperUnavailable("interrupted while starting the helper", e);
        } catch (SpawnHelperUnavailable e) {
            process.destroyForcibly();
            throw e;
        }
    }

    Hello hello() {
        return hello.join();
    }

    long pid() {
        return process.pid();
    }

    boolean dead() {
        return dead;
    }

    /** Sends one frame; an IOException means the helper is gone, which the reader also sees. */
    void send(byte[] frame) throws IOException {
        synchronized (toHelper) {
            toHelper.write(frame);
            toHelper.flush();
        }
    }

    /** Sends one frame if the helper is still there; for signals, where gone means done. */
    void trySend(byte[] frame) {
        if (dead) {
            return;
        }
        try {
            send(frame);
        } catch (IOException gone) {
            log.debug("helper {} gone while sending a frame: {}", process.pid(), gone.toString());
        }
    }

    /**
     * Registers a child before its spawn frame is sent. False when the helper is already gone:
     * then the caller must finish the child itself.
     */
    boolean register(HelperChild child) {
        children.put(child.id(), child);
        if (!dead) {
            return true;
        }
        // The helper died meanwhile: whoever takes the child out of the map finishes it.
        return !children.remove(child.id(), child);
    }

    /** Every child still registered, each taken out once, for whoever ends them. */
    List<HelperChild> takeAll() {
        List<HelperChild> taken = new ArrayList<>();
        for (Long id : List.copyOf(children.keySet())) {
            HelperChild child = children.remove(id);
            if (child != null) {
                taken.add(child);
            }
        }
        return taken;
    }

    /** How the helper process ended, waiting a moment for it; for the log. */
    String exitDescription() {
        try {
            if (!process.waitFor(1, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return "stopped answering";
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "state unknown";
        }
        int status = process.exitValue();
        return status > 128 ? "killed by signal " + (status - 128) : "exited with " + status;
    }

    /** Asks the helper to end every child and exit, and waits for it up to {@code timeout}. */
    void shutdown(Duration timeout) {
        trySend(HelperFrames.shutdown());
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("spawn helper {} did not exit after shutdown; killing it", process.pid());
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private void readFrames() {
        try {
            while (true) {
                int length = Integer.reverseBytes(fromHelper.readInt());
                if (length < 1 || length > HelperFrames.MAX_FRAME_FROM_HELPER) {
                    throw new IOException("frame of " + length + " bytes from the helper");
                }
                byte[] frame = new byte[length];
                fromHelper.readFully(frame);
                ByteBuffer payload = ByteBuffer.wrap(frame, 1, length - 1)
                        .order(ByteOrder.LITTLE_ENDIAN);
                dispatch(frame[0] & 0xff, payload);
            }
        } catch (EOFException end) {
            log.debug("helper {} closed its output", process.pid());
        } catch (IOException | RuntimeException broken) {
            if (!dead) {
                log.error("cannot read the spawn helper's frames; dropping it", broken);
            }
            process.destroyForcibly();
        } finally {
            dead = true;
            hello.completeExceptionally(new IOException("the helper is gone"));
            onDeath.accept(this);
        }
    }

    private void dispatch(int type, ByteBuffer payload) {
        switch (type) {
            case HelperFrames.HELLO_ACK -> {
                long received = System.nanoTime();
                int version = payload.getInt();
                int features = payload.getInt();
                long pid = payload.getInt() & 0xffffffffL;
                // The helper read its clock before this thread read ours, so the offset comes out
                // low if anything, and a deadline converted with it falls early, never late.
                long offset = payload.remaining() >= 8 ? payload.getLong() - received : 0;
                hello.complete(new Hello(version, features, pid, offset));
            }
            case HelperFrames.SPAWNED -> {
                long id = payload.getLong();
                long pid = payload.getInt() & 0xffffffffL;
                HelperChild child = children.get(id);
                if (child != null) {
                    child.spawned(pid);
                }
            }
            case HelperFrames.SPAWN_FAILED -> {
                long id = payload.getLong();
                int stage = payload.getInt();
                int errno = payload.getInt();
                String reason = HelperFrames.string(payload);
                HelperChild child = children.remove(id);
                if (child != null) {
                    child.spawnFailed(HelperFrames.stage(stage) + ": " + reason + " (errno "
                            + errno + ")");
                }
            }
            case HelperFrames.EXITED -> {
                HelperFrames.Exit exit = HelperFrames.Exit.read(payload);
                HelperChild child = children.remove(exit.id());
                if (child != null) {
                    child.exited(exit);
                }
            }
            case HelperFrames.ERROR -> {
                long id = payload.getLong();
                int code = payload.getInt();
                String message = HelperFrames.string(payload);
                log.warn("spawn helper refused a frame (id {}, code {}): {}", id, code, message);
                HelperChild child = id == 0 ? null : children.remove(id);
                if (child != null) {
                    child.spawnFailed("the spawn helper refused to start it: " + message);
                }
            }
            default -> throw new IllegalArgumentException("unknown frame type " + type);
        }
    }
}
