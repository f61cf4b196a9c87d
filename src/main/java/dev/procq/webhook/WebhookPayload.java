package dev.procq.webhook;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.procq.store.WebhookClaim;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The JSON a receiver gets: the delivery id (the same on every retry), the event and when the batch
 * entered it, the batch's summary as it stands when the request is made, and links to it.
 */
final class WebhookPayload {
    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .setSerializationInclusion(JsonInclude.Include.ALWAYS);

    record Body(long deliveryId, String event, OffsetDateTime occurredAt, Batch batch, Map<String, String> links) {
    }

    record Batch(long id, String type, long total, Map<String, Long> counts, OffsetDateTime createdAt,
                 OffsetDateTime startedAt, OffsetDateTime finishedAt, String haltReason) {
    }

    private WebhookPayload() {
    }

    static byte[] of(WebhookClaim claim, String publicUrl) {
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("PENDING", claim.pending());
        counts.put("RUNNING", claim.running());
        counts.put("OK", claim.ok());
        counts.put("FAILED", claim.failed());
        counts.put("CANCELLED", claim.cancelled());
        Map<String, String> links = new LinkedHashMap<>();
        links.put("api", publicUrl + "/api/v1/batches/" + claim.batchId());
        links.put("dashboard", publicUrl + "/#/batches/" + claim.batchId());
        Body body = new Body(claim.id(), claim.event(), claim.stateSince(),
                new Batch(claim.batchId(), claim.type(), claim.total(), counts, claim.batchCreatedAt(),
                        claim.startedAt(), claim.finishedAt(), claim.haltReason()),
                links);
        try {
            return JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
