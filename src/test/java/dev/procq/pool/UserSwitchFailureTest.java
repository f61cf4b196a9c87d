package dev.procq.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A helper that may not change users (here: one started as nobody) reports a spawn as another
 * user as SPAWN_FAILED at the step that failed, with its errno, and starts nothing.
 */
class UserSwitchFailureTest {

    private HelperBinary binary;
    private Path copy;
    private Process helper;

    @BeforeEach
    void startHelperAsNobody() throws Exception {
        assumeTrue(RunAs.whyUsersCannotChange().isEmpty(), "needs root to start a helper as nobody");
        binary = HelperBinary.extract();
        // The extracted helper sits in a 0700 directory of root's; nobody needs a copy of its own.
        Path directory = Files.createTempDirectory("procq-spawnd-nobody-");
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
        copy = Files.copy(binary.executable(), directory.resolve("procq-spawnd"));
        Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("r-xr-xr-x"));
        helper = new ProcessBuilder(SystemTools.find("setpriv", "util-linux").toString(), "--reuid", "65534",
                "--regid", "65534", "--clear-groups", "--", copy.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        helper.getOutputStream().write(HelperFrames.hello());
        helper.getOutputStream().flush();
    }

    @AfterEach
    void stopHelper() throws IOException {
        if (helper != null) helper.destroyForcibly();
        if (binary != null) binary.delete();
        if (copy != null) {
            Files.deleteIfExists(copy);
            Files.deleteIfExists(copy.getParent());
        }
    }

    @Test
    void aSpawnAsAnotherUserThatTheHelperMayNotBecomeFailsAtItsStage() throws Exception {
        ChildSpec asRoot = ChildSpec.of(List.of("/bin/true"), Map.of()).asUser(new RunAs(0, 0, "root"));
        helper.getOutputStream().write(HelperFrames.spawn(5, asRoot, Path.of("/bin/true"), 0, null));
        helper.getOutputStream().flush();

        DataInputStream in = new DataInputStream(helper.getInputStream());
        assertThat(readFrame(in).get() & 0xff).as("hello ack").isEqualTo(HelperFrames.HELLO_ACK);
        ByteBuffer failed = readFrame(in);
        assertThat(failed.get(0) & 0xff).isEqualTo(HelperFrames.SPAWN_FAILED);
        failed.position(1);
        assertThat(failed.getLong()).isEqualTo(5);
        int stage = failed.getInt();
        int errno = failed.getInt();
        assertThat(HelperFrames.stage(stage)).isEqualTo("cannot drop the supplementary groups");
        assertThat(errno).as("EPERM").isEqualTo(1);
        assertThat(HelperFrames.string(failed)).isEqualTo("Operation not permitted");
    }

    private static ByteBuffer readFrame(DataInputStream in) throws IOException {
        int length = Integer.reverseBytes(in.readInt());
        byte[] body = new byte[length];
        in.readFully(body);
        return ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
    }
}
