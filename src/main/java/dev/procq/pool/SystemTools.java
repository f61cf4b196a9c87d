package dev.procq.pool;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where the host's util-linux and procps programs are. They are looked up once, by absolute path,
 * so that neither the worker's nor the child's {@code PATH} decides which {@code kill} runs.
 */
record SystemTools(Path setsid, Path setpriv, Path prlimit, Path kill) {

    private static final List<Path> DIRECTORIES =
            List.of(Path.of("/usr/bin"), Path.of("/bin"), Path.of("/usr/sbin"), Path.of("/sbin"));

    /** Fails fast, naming the missing program, so a worker without them never claims a job. */
    static SystemTools locate() {
        return new SystemTools(find("setsid", "util-linux"), find("setpriv", "util-linux"),
                find("prlimit", "util-linux"), find("kill", "procps"));
    }

    static Path find(String program, String debianPackage) {
        for (Path directory : DIRECTORIES) {
            Path candidate = directory.resolve(program);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException(program + " not found in " + DIRECTORIES
                + "; child processes need it (install the " + debianPackage + " package)");
    }
}
