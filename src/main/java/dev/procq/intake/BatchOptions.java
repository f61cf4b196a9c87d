package dev.procq.intake;

import dev.procq.config.FailureBudget;

/**
 * The parts of a submission besides its targets.
 *
 * @param halt the batch's failure budget; null for its type's ({@link FailureBudget#NONE} for none at all)
 */
public record BatchOptions(String type, int priority, String idempotencyKey, FailureBudget halt) {
    public static final int MIN_PRIORITY = -1000;
    public static final int MAX_PRIORITY = 1000;

    public BatchOptions {
        if (priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
            throw IntakeException.badRequest("priority must be between " + MIN_PRIORITY + " and " + MAX_PRIORITY
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
