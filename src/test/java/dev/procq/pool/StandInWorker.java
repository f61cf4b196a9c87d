package dev.procq.pool;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * A worker JVM for tests that kill one: starts one child, prints its pid, then waits to be killed.
 *
 * <p>Arguments: {@code NAME=VALUE}... {@code --} program arguments... The system property
 * {@code procq.spawner} names the backend (NATIVE or JAVA).
 */
final class StandInWorker {

    private StandInWorker() {
    }

    public static void main(String[] args) throws InterruptedException {
        int separator = Arrays.asList(args).indexOf("--");
        Map<String, String> environment = new HashMap<>(Specs.PLAIN_ENVIRONMENT);
        for (String variable : Arrays.asList(args).subList(0, separator)) {
            int equals = variable.indexOf('=');
            environment.put(variable.substring(0, equals), variable.substring(equals + 1));
        }
        List<String> argv = Arrays.asList(args).subList(separator + 1, args.length);

        RunningChild child = ChildLauncher.open(ChildLauncher.Backend.valueOf(
                System.getProperty("procq.spawner", "NATIVE"))).start(ChildSpec.of(argv, environment));

        System.out.println(child.pid().orElseThrow());
        System.out.flush();
        new CountDownLatch(1).await();
    }
}
