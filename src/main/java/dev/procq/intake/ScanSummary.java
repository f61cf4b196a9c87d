package dev.procq.intake;

import java.util.List;
import java.util.Map;

/**
 * What a scan recorded and what it passed over, and why: answered with the 202 so a caller
 * can tell "99,998 rows" from "100,000 files" at once.
 *
 * @param recorded one job row per matching regular file, readable or not
 * @param skipped  counts by reason (e.g. symlinkOutOfRoot); no row exists for these
 * @param examples the first few skipped paths, relative to the root, with their reason
 */
public record ScanSummary(String root, String glob, long recorded, Map<String, Long> skipped, List<Skipped> examples) {
    public record Skipped(String path, String reason, String detail) {
    }
}
