package dev.procq.intake;

/**
 * What intake answers: the batch's id, type and size; {@code replayed} when an Idempotency-Key
 * matched an earlier batch; {@code scan} what a directory scan recorded and skipped (else null).
 */
public record BatchReceipt(long id, String type, long total, boolean replayed, ScanSummary scan) {
    public BatchReceipt(long id, String type, long total, boolean replayed) {
        this(id, type, total, replayed, null);
    }

    BatchReceipt withScan(ScanSummary summary) {
        return new BatchReceipt(id, type, total, replayed, summary);
    }
}
