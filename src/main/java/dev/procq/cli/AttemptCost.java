package dev.procq.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What an attempt cost, from the API's {@code cpuUserMs}, {@code cpuSystemMs} and {@code maxRssKb}, in
 * words: "CPU 12 ms user / 3 ms sys, peak 4.1 MiB". Each is null when the worker could not measure it,
 * and an unknown figure is left out rather than shown as 0.
 */
final class AttemptCost {
    private AttemptCost() {
    }

    /** The attempt's cost, or empty when none of it is known. */
    static Optional<String> describe(JsonNode attempt) {
        Long userMs = known(attempt.path("cpuUserMs"));
        Long systemMs = known(attempt.path("cpuSystemMs"));
        Long rssKb = known(attempt.path("maxRssKb"));
        List<String> parts = new ArrayList<>();
        if (userMs != null || systemMs != null) {
            parts.add("CPU " + cpu(userMs) + " user / " + cpu(systemMs) + " sys");
        }
        if (rssKb != null) parts.add("peak " + memory(rssKb));
        return parts.isEmpty() ? Optional.empty() : Optional.of(String.join(", ", parts));
    }

    /** "0 ms", "950 ms", "1.2 s", "42 s", "3m 05s", "2h 07m". */
    static String cpu(Long millis) {
        if (millis == null) return "?";
        if (millis < 1000) return millis + " ms";
        if (millis < 10_000) return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
        long seconds = Math.round(millis / 1000.0);
        if (seconds < 60) return seconds + " s";
        if (seconds < 3600) return String.format(Locale.ROOT, "%dm %02ds", seconds / 60, seconds % 60);
        return String.format(Locale.ROOT, "%dh %02dm", seconds / 3600, seconds % 3600 / 60);
    }

    /** Peak memory comes in KiB, as wait4 reports it; binary units keep it exact to the kernel's figure. */
    static String memory(long kib) {
        if (kib < 1024) return kib + " KiB";
        double value = kib < 1024 * 1024 ? kib / 1024.0 : kib / (1024.0 * 1024.0);
        String unit = kib < 1024 * 1024 ? "MiB" : "GiB";
        return (value < 100 ? String.format(Locale.ROOT, "%.1f", value) : Long.toString(Math.round(value))) + " " + unit;
    }

    /** A non-negative whole number, or null for JSON null, a missing field or anything else. */
    private static Long known(JsonNode value) {
        return value.isIntegralNumber() && value.asLong() >= 0 ? value.asLong() : null;
    }
}
