package dev.procq.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class PoolIndependenceTest {

    private static final Path SOURCES = Path.of("src/main/java/dev/procq/pool");
    private static final Pattern OTHER_PROCQ_PACKAGE = Pattern.compile("dev\\.procq\\.(?!pool\\b)\\w+");

    @Test
    void poolUsesNoOtherProcqPackage() throws IOException {
        List<String> offenders;
        try (Stream<Path> files = Files.list(SOURCES)) {
            offenders = files.filter(file -> file.toString().endsWith(".java"))
                    .filter(file -> OTHER_PROCQ_PACKAGE.matcher(read(file)).find())
                    .map(Path::toString)
                    .toList();
        }

        assertThat(offenders).isEmpty();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
