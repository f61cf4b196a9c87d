package dev.procq.webhook;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The {@code Procq-Signature} header: {@code t=<unix seconds>,v1=<hex HMAC-SHA256>} over
 * {@code t + "." + body}, keyed with PROCQ_WEBHOOK_SECRET, as Stripe signs its events. The
 * timestamp inside the signed text lets a receiver refuse a replay of an old request.
 */
public final class WebhookSignature {
    public static final String HEADER = "Procq-Signature";

    private final SecretKeySpec key;

    public WebhookSignature(String secret) {
        this.key = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
    }

    /** The header's value for this body sent at {@code unixSeconds}. */
    public String header(long unixSeconds, byte[] body) {
        return "t=" + unixSeconds + ",v1=" + hex(unixSeconds, body);
    }

    /** The hex HMAC-SHA256 of {@code unixSeconds + "." + body}. */
    public String hex(long unixSeconds, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update((unixSeconds + ".").getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(mac.doFinal(body));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }
}
