package dev.procq.schedule;

/** What became of one tick: the {@code outcome} label of procq_schedule_ticks_total. */
enum TickOutcome {
    /** its batch was submitted */
    CREATED("created"),
    /** overlap queue-one: it waits for the schedule's earlier batches to end */
    QUEUED("queued"),
    /** overlap skip, or queue-one with a tick already waiting: no batch */
    SKIPPED_OVERLAP("skipped-overlap"),
    /** catch-up skip-missed: it was missed while no scheduler ran; no batch */
    SKIPPED_MISSED("skipped-missed"),
    /** catch-up run-once: it was missed, and the one catch-up batch stands for it too */
    MERGED_MISSED("merged-missed"),
    /** the scan or file named no target this time: no batch */
    EMPTY("empty"),
    /** intake refused the stored body (a scan root gone, a type removed): no batch; see procq.schedule.last_error */
    FAILED("failed");

    final String label;

    TickOutcome(String label) {
        this.label = label;
    }
}
