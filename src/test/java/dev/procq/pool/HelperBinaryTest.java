package dev.procq.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;

class HelperBinaryTest {

    @Test
    void helperIsWrittenPrivatelyAndMatchesTheJarsCopy() throws Exception {
        HelperBinary binary = HelperBinary.extract();
        try {
            Path executable = binary.executable();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(executable.getParent())))
                    .isEqualTo("rwx------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(executable)))
                    .isEqualTo("r-x------");
            try (var shipped = HelperBinary.class.getResourceAsStream(HelperBinary.resourceName())) {
                assertThat(Files.readAllBytes(executable)).isEqualTo(shipped.readAllBytes());
            }
        } finally {
            binary.delete();
        }
        assertThat(binary.executable().getParent()).doesNotExist();
    }

    @Test
    void directoryLeftByAKilledWorkerIsRemovedByTheNext() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Path leftover = Files.createTempDirectory(HelperBinary.NAME + "-" + gone.pid() + "-");
        Files.writeString(leftover.resolve(HelperBinary.NAME), "left behind");
        Path live = Files.createTempDirectory(HelperBinary.NAME + "-" + ProcessHandle.current().pid() + "-");

        HelperBinary binary = HelperBinary.extract();
        binary.delete();

        assertThat(leftover).doesNotExist();
        assertThat(live).as("a live worker's directory").exists();
        Files.delete(live);
    }
}
