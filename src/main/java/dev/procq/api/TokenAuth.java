package dev.procq.api;

import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;

/**
 * Bearer-token check for /api. Tokens are compared as SHA-256 digests with
 * MessageDigest.isEqual, so the time taken says nothing about how much of a guess matched;
 * a token is never logged or echoed.
 */
final class TokenAuth {
    private static final String PREFIX = "Bearer ";
    private final List<byte[]> digests;

    TokenAuth(List<String> tokens) {
        this.digests = tokens.stream().map(TokenAuth::digest).toList();
    }

    boolean enabled() {
        return !digests.isEmpty();
    }

    void check(Context ctx) {
        if (!enabled()) return;
        String header = ctx.header("Authorization");
        if (header == null || !header.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
            throw unauthorized("missing bearer token: send 'Authorization: Bearer <token>'");
        }
        byte[] presented = digest(header.substring(PREFIX.length()).trim());
        boolean match = false;
        for (byte[] known : digests) {
            match |= MessageDigest.isEqual(known, presented);
        }
        if (!match) throw unauthorized("invalid bearer token");
    }

    private static ApiError unauthorized(String message) {
        return new ApiError(401, message, Map.of());
    }

    private static byte[] digest(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
