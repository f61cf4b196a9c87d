package dev.procq.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SpawnerThreadTest {

    private final SpawnerThread spawner = new SpawnerThread("test-spawner");

    @AfterEach
    void stopSpawner() {
        spawner.stop();
    }

    @Test
    void everyTaskRunsOnTheSameThread() {
        Thread first = spawner.call(Thread::currentThread);
        Thread second = spawner.call(Thread::currentThread);

        assertThat(first).isSameAs(second).isSameAs(spawner.thread());
    }

    @Test
    void failingTasksNeverEndTheThread() {
        Thread before = spawner.call(Thread::currentThread);

        assertThatThrownBy(() -> spawner.call(() -> {
            throw new IllegalStateException("spawn went wrong");
        })).isInstanceOf(IllegalStateException.class).hasMessageContaining("spawn went wrong");
        assertThatThrownBy(() -> spawner.call(() -> {
            throw new OutOfMemoryError("unable to create native thread");
        })).isInstanceOf(IllegalStateException.class).hasMessageContaining("native thread");

        assertThat(spawner.call(Thread::currentThread)).isSameAs(before);
        assertThat(before.isAlive()).isTrue();
    }

    @Test
    void interruptedCallerStillGetsItsAnswer() {
        Thread.currentThread().interrupt();
        try {
            assertThat(spawner.call(() -> "spawned")).isEqualTo("spawned");
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void stoppedSpawnerRefusesWork() {
        spawner.stop();

        assertThatThrownBy(() -> spawner.call(() -> "too late"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("launcher is closed");
    }
}
