package dev.procq.cli;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;

/** One line of progress: bar, percent, counts, rate and time left. Pure text, so it is easy to test. */
final class ProgressLine {
    static final int BAR_WIDTH = 24;

    private ProgressLine() {
    }

    /** Narrower than this, the bar says too little to be worth its room. */
    static final int MIN_BAR_WIDTH = 10;

    static String render(BatchStatus batch, OptionalDouble perSecond, Optional<Duration> eta) {
        return bar(batch, BAR_WIDTH) + ' ' + figures(batch, perSecond, eta);
    }

    /**
     * The line in at most {@code columns - 1} characters, so a terminal never wraps it (a wrapped
     * line cannot be redrawn in place): the bar shrinks, then goes, then the figures are cut.
     */
    static String fitted(BatchStatus batch, OptionalDouble perSecond, Optional<Duration> eta, int columns) {
        String figures = figures(batch, perSecond, eta);
        int room = columns - 1;
        int barWidth = Math.min(BAR_WIDTH, room - figures.length() - 3);
        if (barWidth >= MIN_BAR_WIDTH) return bar(batch, barWidth) + ' ' + figures;
        return figures.length() <= room ? figures : figures.substring(0, Math.max(room, 0));
    }

    /** Percent, counts, rate and time left. */
    static String figures(BatchStatus batch, OptionalDouble perSecond, Optional<Duration> eta) {
        BatchStatus.Counts c = batch.counts();
        StringBuilder line = new StringBuilder();
        line.append(String.format(Locale.ROOT, "%5.1f%%", percent(batch)));
        line.append("  OK ").append(c.ok()).append("  FAILED ").append(c.failed())
                .append("  RUNNING ").append(c.running()).append("  PENDING ").append(c.pending());
        if (c.cancelled() > 0) line.append("  CANCELLED ").append(c.cancelled());
        line.append("  ").append(perSecond.isPresent() ? rate(perSecond.getAsDouble()) : "-/s");
        if (!batch.isOver()) line.append("  ETA ").append(eta.map(ProgressLine::duration).orElse("--:--"));
        return line.toString();
    }

    /** '#' OK, 'x' FAILED, '-' CANCELLED, '.' still to do. */
    static String bar(BatchStatus batch, int width) {
        long total = Math.max(batch.total(), 1);
        BatchStatus.Counts c = batch.counts();
        int ok = (int) (width * c.ok() / total);
        int failed = (int) (width * (c.ok() + c.failed()) / total) - ok;
        int cancelled = (int) (width * batch.finished() / total) - ok - failed;
        // A failure shows as at least one 'x' so it is never rounded away.
        if (c.failed() > 0 && failed == 0 && ok > 0) {
            failed = 1;
            ok--;
        }
        int rest = width - ok - failed - cancelled;
        return "[" + "#".repeat(ok) + "x".repeat(failed) + "-".repeat(cancelled) + ".".repeat(Math.max(rest, 0)) + "]";
    }

    static double percent(BatchStatus batch) {
        return batch.total() == 0 ? 100.0 : 100.0 * batch.finished() / batch.total();
    }

    static String rate(double perSecond) {
        if (perSecond >= 100) return String.format(Locale.ROOT, "%.0f/s", perSecond);
        if (perSecond >= 1) return String.format(Locale.ROOT, "%.1f/s", perSecond);
        return String.format(Locale.ROOT, "%.2f/s", perSecond);
    }

    /** 0:07, 12:30, 3:02:15. */
    static String duration(Duration duration) {
        long seconds = Math.max(0, (duration.toMillis() + 999) / 1000);
        long hours = seconds / 3600;
        long minutes = seconds % 3600 / 60;
        long secs = seconds % 60;
        return hours > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", hours, minutes, secs)
                : String.format(Locale.ROOT, "%d:%02d", minutes, secs);
    }
}
