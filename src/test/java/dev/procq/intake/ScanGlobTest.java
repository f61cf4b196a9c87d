package dev.procq.intake;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which relative paths a scan glob matches, and where its walk may start. */
class ScanGlobTest {
    @ParameterizedTest(name = "{0} ~ {1}: {2}")
    @CsvSource(delimiter = '|', value = {
            "**/*.jpg        | a.jpg              | true",
            "**/*.jpg        | x/y/a.jpg          | true",
            "**/*.jpg        | a.png              | false",
            "*.jpg           | x/a.jpg            | false",
            "x/**/*.jpg      | x/a.jpg            | true",
            "x/**/*.jpg      | x/y/z/a.jpg        | true",
            "x/**/*.jpg      | xy/a.jpg           | false",
            "**/*.{jpg,png}  | y/a.png            | true",
            "\\*\\*/a.jpg    | **/a.jpg           | true",
            "\\*\\*/a.jpg    | x/a.jpg            | false",
            "[*]*/a.jpg      | */a.jpg            | true",
            "**               | deep/down/file     | true",
    })
    void matchesLikeAShellGlobstar(String glob, String path, boolean matches) {
        assertThat(ScanGlob.parse(glob.strip()).matches(Path.of(path.strip()))).isEqualTo(matches);
    }

    @ParameterizedTest(name = "{0} starts at ''{1}''")
    @CsvSource(delimiter = '|', value = {
            "**/*.jpg          | ''",
            "*.jpg             | ''",
            "2024/*.jpg        | 2024",
            "2024/june/**/*.jpg | 2024/june",
            "2024/ju*/a.jpg    | 2024",
            "2024/{a,b}/x.jpg  | 2024",
            "a.jpg             | ''",
    })
    void walkStartsAtTheDirectoriesTheGlobNamesLiterally(String glob, String start) {
        assertThat(ScanGlob.parse(glob.strip()).literalDirectories()).isEqualTo(start.strip());
    }
}
