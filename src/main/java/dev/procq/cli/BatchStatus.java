package dev.procq.cli;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.OffsetDateTime;

/** A batch as GET /api/v1/batches/{id} returns it; fields the client does not know are ignored. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record BatchStatus(long id, String type, String state, long total, Counts counts,
                          OffsetDateTime createdAt, OffsetDateTime startedAt, OffsetDateTime finishedAt,
                          String haltReason) {

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Counts(@JsonProperty("PENDING") long pending, @JsonProperty("RUNNING") long running,
                         @JsonProperty("OK") long ok, @JsonProperty("FAILED") long failed,
                         @JsonProperty("CANCELLED") long cancelled) {
    }

    /** No job will change any more: every one is final, or the batch was cancelled. */
    public boolean isOver() {
        return "DONE".equals(state) || "CANCELLED".equals(state);
    }

    /** Its failure budget ran out: nothing more starts until an operator resumes it. */
    public boolean isHalted() {
        return "HALTED".equals(state);
    }

    /** Every target ended OK. */
    public boolean allOk() {
        return "DONE".equals(state) && counts.ok() == total;
    }

    /** Jobs in a final state. */
    public long finished() {
        return counts.ok() + counts.failed() + counts.cancelled();
    }
}
