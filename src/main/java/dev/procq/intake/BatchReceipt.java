package dev.procq.intake;

/** What intake answers: the batch's id, type and size; {@code replayed} when an Idempotency-Key matched an earlier batch. */
public record BatchReceipt(long id, String type, long total, boolean replayed) {
}
