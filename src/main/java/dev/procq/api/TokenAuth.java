package dev.procq.api;

import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;

/**
 * Who may call /api. With PROCQ_API_TOKENS: only a request with {@code Authorization: Bearer
 * <token>}; nowhere else (no query parameter, no other header) counts. Tokens are compared as
 * SHA-256 digests with MessageDigest.isEqual against every known token, so the time taken says
 * nothing about how much of a guess matched; a token is never logged or echoed.
 *
 * <p>Without tokens the API listens on loopback only (see Settings), and the {@link CrossSiteGuard}
 * keeps browsers from calling it on behalf of other sites.
 */
final class TokenAuth {
    private static final String PREFIX = "Bearer ";
    private final List<byte[]> digests;
    private final CrossSiteGuard localOnly;

    TokenAuth(List<String> tokens, String listenHost) {
        this.digests = tokens.stream().map(TokenAuth::digest).toList();
        this.localOnly = new CrossSiteGuard(listenHost);
    }

    boolean enabled() {
        return !digests.isEmpty();
    }

    void check(Context ctx) {
        if (!enabled()) {
            localOnly.check(ctx);
            return;
        }
        String header = ctx.header("Authorization");
        if (header == null || !header.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
            throw unauthorized(ctx, "missing bearer token: send 'Authorization: Bearer <token>'");
        }
        byte[] presented = digest(header.substring(PREFIX.length()).trim());
        boolean match = false;
        for (byte[] known : digests) {
            match |= MessageDigest.isEqual(known, presented);
        }
        if (!match) throw unauthorized(ctx, "invalid bearer token");
    }

    private static ApiError unauthorized(Context ctx, String message) {
        // RFC 6750: a 401 names the scheme the client should use.
        ctx.header("WWW-Authenticate", "Bearer realm=\"procq\"");
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
