package dev.procq.intake;

import dev.procq.config.FailureBudget;
import dev.procq.config.Priority;

/**
 * The parts of a submission besides its targets.
 *
 * @param halt the batch's failure budget; null for its type's ({@link FailureBudget#NONE} for none at all)
 * @param webhook where the batch's end is announced: an allowlisted URL ({@link Intake#webhookUrl}); null for nowhere
 */
public record BatchOptions(String type, int priority, String idempotencyKey, FailureBudget halt, String webhook) {
    public BatchOptions {
        checkPriority(priority);
        if (idempotencyKey != null && (idempotencyKey.isBlank() || idempotencyKey.length() > 255)) {
            throw IntakeException.badRequest("Idempotency-Key must be 1 to 255 characters");
        }
    }

    public BatchOptions(String type, int priority, String idempotencyKey) {
        this(type, priority, idempotencyKey, null, null);
    }

    public BatchOptions(String type, int priority, String idempotencyKey, FailureBudget halt) {
        this(type, priority, idempotencyKey, halt, null);
    }

    /** Refuses a priority out of range, with the message every submission form gives. */
    static void checkPriority(int priority) {
        if (!Priority.inRange(priority)) {
            throw IntakeException.badRequest("priority must be between " + Priority.MIN + " and " + Priority.MAX
                    + " (lower runs first), got " + priority);
        }
    }
}
