package dev.procq.pool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.pool.ChildResult.Outcome;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ChildResultTest {

    private static final Duration TOOK = Duration.ofMillis(20);

    @Test
    void exitZeroIsTheOnlySuccess() {
        assertThat(ChildResult.exited(0, TOOK, "").succeeded()).isTrue();
        assertThat(ChildResult.exited(0, TOOK, "").error()).isNull();
        assertThat(ChildResult.exited(3, TOOK, "").succeeded()).isFalse();
        assertThat(ChildResult.stopped("cancelled", 0, null, TOOK, "").succeeded()).isFalse();
        assertThat(ChildResult.timedOut(Duration.ofSeconds(1), 0, null, TOOK, "").succeeded()).isFalse();
    }

    @Test
    void errorsAreShortHumanReasons() {
        assertThat(ChildResult.exited(3, TOOK, "").error()).isEqualTo("exit code 3");
        assertThat(ChildResult.killedBy(9, TOOK, "").error()).isEqualTo("killed by signal 9 (KILL)");
        assertThat(ChildResult.killedBy(11, TOOK, "").error()).isEqualTo("killed by signal 11 (SEGV)");
        assertThat(ChildResult.killedBy(24, TOOK, "").error()).isEqualTo("CPU time limit exceeded");
        assertThat(ChildResult.killedBy(25, TOOK, "").error()).isEqualTo("file size limit exceeded");
        assertThat(ChildResult.killedBy(40, TOOK, "").error()).isEqualTo("killed by signal 40");
        assertThat(ChildResult.timedOut(Duration.ofSeconds(2), null, 15, TOOK, "").error())
                .isEqualTo("timed out after 2s");
        assertThat(ChildResult.stopped("lease lost", null, 15, TOOK, "").error())
                .isEqualTo("stopped: lease lost");
        assertThat(ChildResult.spawnFailed("program not found: nosuchprog", TOOK).outcome())
                .isEqualTo(Outcome.SPAWN_FAILED);
    }

    @Test
    void durationsReadShort() {
        assertThat(ChildResult.shortText(Duration.ofMillis(500))).isEqualTo("500ms");
        assertThat(ChildResult.shortText(Duration.ofSeconds(2))).isEqualTo("2s");
        assertThat(ChildResult.shortText(Duration.ofMillis(1500))).isEqualTo("1.5s");
        assertThat(ChildResult.shortText(Duration.ofSeconds(90))).isEqualTo("1m30s");
        assertThat(ChildResult.shortText(Duration.ofMinutes(5))).isEqualTo("5m");
        assertThat(ChildResult.shortText(Duration.ofHours(2))).isEqualTo("2h");
        assertThat(ChildResult.shortText(Duration.ofSeconds(3725))).isEqualTo("1h2m5s");
    }
}
