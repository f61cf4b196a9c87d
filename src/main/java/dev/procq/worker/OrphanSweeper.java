package dev.procq.worker;

import dev.procq.pool.ProcessGroups;
import dev.procq.store.WorkerDao;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends children left behind by an earlier worker run on this host that died without
 * stopping them (SIGKILL, OOM killer). Every child carries its worker run's tag (id, pid and
 * start, see {@link WorkerDao#RUN_TAG}) in {@link #MARKER}, so only the processes of this
 * installation's dead runs are touched, never those of live workers or of another procq
 * database's workers on the same host. Runs at start, after every rescue, and every
 * {@link #INTERVAL}.
 */
final class OrphanSweeper {
    static final String MARKER = "PROCQ_WORKER_RUN";
    /**
     * Besides at start and after every rescue: a worker that died on this host may have been
     * rescued by a worker elsewhere, and its grandchildren must not run until the next restart.
     */
    static final Duration INTERVAL = Duration.ofMinutes(1);
    private static final Logger log = LoggerFactory.getLogger(OrphanSweeper.class);

    private OrphanSweeper() {
    }

    static int sweep(Jdbi jdbi, String host, long self) {
        List<String> runs = jdbi.withExtension(WorkerDao.class, dao -> dao.earlierRunsOnHost(host, self));
        Set<String> deadRuns = new HashSet<>();
        for (String run : runs) {
            long pid = Long.parseLong(run.split("\\.")[1]);
            boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
                    && pid != ProcessHandle.current().pid();
            if (!alive) deadRuns.add(run);
        }
        if (deadRuns.isEmpty()) return 0;
        int killed = ProcessGroups.killTagged(MARKER, deadRuns);
        if (killed > 0) log.warn("ended {} process groups left running by earlier workers on this host", killed);
        return killed;
    }
}
