package dev.procq.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

/** The progress line, the rate behind it and the escaping of server text, without a server. */
class ProgressLineTest {
    static BatchStatus batch(String state, long total, long pending, long running, long ok, long failed, long cancelled) {
        return new BatchStatus(1, "t", state, total, new BatchStatus.Counts(pending, running, ok, failed, cancelled),
                OffsetDateTime.now(), null, null, null);
    }

    @Test
    void theBarShowsOkFailedCancelledAndWhatIsLeft() {
        BatchStatus half = batch("RUNNING", 100, 40, 10, 40, 10, 0);
        assertThat(ProgressLine.bar(half, 10)).isEqualTo("[####x.....]");
        BatchStatus cancelled = batch("CANCELLED", 10, 0, 0, 5, 0, 5);
        assertThat(ProgressLine.bar(cancelled, 10)).isEqualTo("[#####-----]");
    }

    @Test
    void aSingleFailureIsNeverRoundedAwayFromTheBar() {
        BatchStatus oneInAMillion = batch("RUNNING", 1_000_000, 0, 0, 999_999, 1, 0);
        assertThat(ProgressLine.bar(oneInAMillion, 24)).contains("x");
    }

    @Test
    void theLineCarriesPercentCountsRateAndEta() {
        String line = ProgressLine.render(batch("RUNNING", 1000, 500, 8, 490, 2, 0), OptionalDouble.of(12.34),
                Optional.of(Duration.ofSeconds(41)));
        assertThat(line).isEqualTo("[##########x.............]  49.2%  OK 490  FAILED 2  RUNNING 8  PENDING 500  12.3/s  ETA 0:41");
    }

    @Test
    void aFinishedBatchHasNoEtaAndAnUnknownRateShowsADash() {
        String line = ProgressLine.render(batch("DONE", 3, 0, 0, 3, 0, 0), OptionalDouble.empty(), Optional.empty());
        assertThat(line).endsWith("PENDING 0  -/s");
    }

    @Test
    void aNarrowTerminalShrinksTheBarThenDropsIt() {
        BatchStatus running = batch("RUNNING", 1_000_000, 500_000, 500, 499_000, 500, 0);
        String wide = ProgressLine.fitted(running, OptionalDouble.of(1234), Optional.of(Duration.ofHours(2)), 200);
        int figures = ProgressLine.figures(running, OptionalDouble.of(1234), Optional.of(Duration.ofHours(2))).length();
        String medium = ProgressLine.fitted(running, OptionalDouble.of(1234), Optional.of(Duration.ofHours(2)), figures + 16);
        String narrow = ProgressLine.fitted(running, OptionalDouble.of(1234), Optional.of(Duration.ofHours(2)), 80);
        assertThat(wide).startsWith("[" + "#".repeat(10) + "x" + ".".repeat(13) + "]");
        assertThat(medium).hasSize(figures + 15).startsWith("[").contains("] ");
        assertThat(medium.indexOf(']')).as("a 12-character bar").isEqualTo(13);
        assertThat(narrow.length()).isLessThanOrEqualTo(79);
        assertThat(narrow).doesNotContain("[").startsWith(" 50.0%");
    }

    @Test
    void durationsReadLikeAClock() {
        assertThat(ProgressLine.duration(Duration.ofSeconds(7))).isEqualTo("0:07");
        assertThat(ProgressLine.duration(Duration.ofMillis(12_300))).isEqualTo("0:13");
        assertThat(ProgressLine.duration(Duration.ofMinutes(754))).isEqualTo("12:34:00");
    }

    @Test
    void theRateFollowsTheLastWindowOnly() {
        Rate rate = new Rate();
        long second = 1_000_000_000L;
        rate.add(0, 0);
        assertThat(rate.perSecond()).isEmpty();
        rate.add(second / 2, 10);
        assertThat(rate.perSecond()).as("half a second is too little to say").isEmpty();
        // 1000 jobs a second for a minute, then 10 a second for the next 30 seconds
        for (int s = 1; s <= 60; s++) rate.add(s * second, s * 1000L);
        for (int s = 61; s <= 90; s++) rate.add(s * second, 60_000 + (s - 60) * 10L);
        assertThat(rate.perSecond().getAsDouble()).isEqualTo(10.0);
        assertThat(rate.eta(600)).contains(Duration.ofMinutes(1));
    }

    @Test
    void serverTextLosesItsTerminalControlsButKeepsItsMeaning() {
        assertThat(SafeText.of("a\033[2Jb\nc\td\u009b\u202eé")).isEqualTo("a\\x1b[2Jb\\nc\\td\\x9b\\u202eé");
        assertThat(SafeText.of("plain/path with spaces.jpg")).isEqualTo("plain/path with spaces.jpg");
    }
}
