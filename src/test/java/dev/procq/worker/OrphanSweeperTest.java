package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.store.WorkerDao;
import dev.procq.testing.LiveProcesses;
import dev.procq.testing.PostgresExtension;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The sweep ends what a dead run of this installation left behind, and nothing else on the host. */
class OrphanSweeperTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    final List<Process> started = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        started.forEach(Process::destroyForcibly);
    }

    /** A sleep in a session of its own (as procq's children are), with one environment entry. */
    long orphan(String seconds, String variable, String value) throws Exception {
        ProcessBuilder builder = new ProcessBuilder("setsid", "sleep", seconds);
        builder.environment().put(variable, value);
        Process process = builder.start();
        started.add(process);
        await().atMost(Duration.ofSeconds(5)).until(() -> LiveProcesses.running("sleep", seconds).size() == 1);
        return process.pid();
    }

    @Test
    void sweepEndsTheGroupsOfDeadRunsOnlyNotThoseOfAnotherDatabasesWorkerWithTheSameId() throws Exception {
        Jdbi jdbi = postgres.database().jdbi();
        String host = InetAddress.getLocalHost().getHostName();
        Process finished = new ProcessBuilder("true").start();
        finished.waitFor();
        long dead = jdbi.withExtension(WorkerDao.class, dao -> dao.register(host, finished.pid(), 1, new String[] {"t"}));
        long self = jdbi.withExtension(WorkerDao.class, dao -> dao.register(host, ProcessHandle.current().pid(), 1, new String[] {"t"}));
        String deadTag = jdbi.withExtension(WorkerDao.class, dao -> dao.runTag(dead));

        String leftBehind = LiveProcesses.uniqueSleepSeconds();
        String otherInstallation = LiveProcesses.uniqueSleepSeconds();
        orphan(leftBehind, OrphanSweeper.MARKER, deadTag);
        // Worker ids start at 1 in every database: another procq on this host has a worker with the same id.
        orphan(otherInstallation, OrphanSweeper.MARKER, dead + ".1." + System.currentTimeMillis() * 1000);

        assertThat(OrphanSweeper.sweep(jdbi, host, self)).isEqualTo(1);

        await().atMost(Duration.ofSeconds(5)).until(() -> LiveProcesses.running("sleep", leftBehind).isEmpty());
        assertThat(LiveProcesses.running("sleep", otherInstallation)).hasSize(1);
        assertThat(OrphanSweeper.sweep(jdbi, host, self)).isZero();
    }
}
