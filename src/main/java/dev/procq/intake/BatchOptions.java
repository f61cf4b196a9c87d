package dev.procq.intake;

import dev.procq.config.FailureBudget;
import dev.procq.config.Priority;

/**
 * The parts of a submission besides its targets.
 *
 * @param halt the batch's failure budget; null for its type's ({@link FailureBudget#NONE} for none at all)
 */
public record BatchOptions(String type, int priority, String idempotencyKey, FailureBudget halt) {
    public BatchOptions {
        if (!Priority.inRange(priority)) {
            throw IntakeException.badRequest("priority must be between " + Priority.MIN + " and " + Priority.MAX
                    + " (lower runs first), got " + priority);
        }
        if (idempotencyKey != null && (idempotencyKey.isBlank() || idempotencyKey.length() > 255)) {
            throw IntakeException.badRequest("Idempotency-Key must be 1 to 255 characters");
        }
    }

    public BatchOptions(String type, int priority, String idempotencyKey) {
        this(type, priority, idempotencyKey, null);
    }
}
