package dev.procq.config;

import java.time.Duration;

/**
 * How procq announces a batch's end: where it may POST ({@link WebhookDestinations}), the secret it
 * signs with, each request's timeout, the first retry's delay, and the base of the links it sends.
 */
public record WebhookSettings(WebhookDestinations destinations, String secret, Duration timeout, Duration backoff,
                              String publicUrl) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_BACKOFF = Duration.ofSeconds(10);
    /** A secret shorter than this is refused: it signs what receivers act on. */
    public static final int MIN_SECRET_LENGTH = 16;

    public boolean enabled() {
        return !destinations.isEmpty();
    }
}
