package dev.procq.pool;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Child specs as the tests need them. */
final class Specs {

    static final Map<String, String> PLAIN_ENVIRONMENT = Map.of("PATH", "/usr/bin:/bin");
    /** Short enough to keep the suite fast, long enough for kill(1) to run on a busy host. */
    static final Duration SHORT_KILL_GRACE = Duration.ofMillis(500);

    /**
     * For scripts whose direct child exits leaving processes behind. Real jobs run for a while; a
     * child that exits within its first millisecond can beat its output reader, and then the JDK
     * closes the pipe at the exit instead (see RunningChild#readOutput).
     */
    static final String LIVE_A_MOMENT = "sleep 0.3";

    private Specs() {
    }

    static ChildSpec spec(String... argv) {
        return ChildSpec.of(List.of(argv), PLAIN_ENVIRONMENT).withKillGrace(SHORT_KILL_GRACE);
    }

    static ChildSpec shell(String script, String... arguments) {
        String[] argv = new String[arguments.length + 4];
        argv[0] = "sh";
        argv[1] = "-c";
        argv[2] = script;
        argv[3] = "sh";
        System.arraycopy(arguments, 0, argv, 4, arguments.length);
        return spec(argv);
    }
}
