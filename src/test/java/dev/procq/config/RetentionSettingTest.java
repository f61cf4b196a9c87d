package dev.procq.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** PROCQ_RETENTION: a week unless told, off to keep everything, and no bare numbers. */
class RetentionSettingTest {
    static Settings with(String value) {
        return new Settings(Map.of("PROCQ_RETENTION", value));
    }

    @Test
    void keepsAWeekByDefault() {
        assertThat(new Settings(Map.of()).retention()).contains(Duration.ofDays(7));
    }

    @Test
    void takesDaysAndHoursAndOff() {
        assertThat(with("30d").retention()).contains(Duration.ofDays(30));
        assertThat(with("36h").retention()).contains(Duration.ofHours(36));
        assertThat(with("OFF").retention()).isEmpty();
    }

    @Test
    void refusesABareNumberOrGarbageNamingTheVariable() {
        assertThatThrownBy(() -> with("7")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("PROCQ_RETENTION=7").hasMessageContaining("7d");
        assertThatThrownBy(() -> with("a week")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("PROCQ_RETENTION=a week");
    }
}
