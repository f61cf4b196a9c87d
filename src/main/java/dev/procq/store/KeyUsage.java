package dev.procq.store;

/** One key of a type as procq.job_key_usage shows it: jobs running now, and started in the last minute. */
public record KeyUsage(String key, long running, long startedLastMinute) {
}
