package dev.procq.store;

import org.jdbi.v3.core.Handle;

/** The NOTIFY channel that wakes idle workers when jobs arrive; polling remains the fallback. */
public final class JobNotifications {
    public static final String CHANNEL = "procq_jobs";

    private JobNotifications() {
    }

    /** Queues a notification naming the job type; PostgreSQL delivers it when the transaction commits. */
    public static void notifyJobsAvailable(Handle handle, String type) {
        handle.createQuery("SELECT pg_notify(:channel, :type)")
                .bind("channel", CHANNEL).bind("type", type)
                .mapTo(String.class).findOne();
    }

    /** Payload prefix telling workers to stop the running jobs of a cancelled batch. */
    public static final String CANCEL_PREFIX = "cancel:";

    public static void notifyCancel(Handle handle, long batchId) {
        handle.createQuery("SELECT pg_notify(:channel, :payload)")
                .bind("channel", CHANNEL).bind("payload", CANCEL_PREFIX + batchId)
                .mapTo(String.class).findOne();
    }
}
