package dev.procq.api;

import dev.procq.config.ApiToken;
import io.javalin.http.Context;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who is calling, and whether the route lets them. With PROCQ_API_TOKENS: only a request with
 * {@code Authorization: Bearer <token>}; nowhere else (no query parameter, no other header)
 * counts. Tokens are compared as SHA-256 digests with MessageDigest.isEqual against every known
 * token, so the time taken says nothing about how much of a guess matched, nor which token
 * matched; a token is never logged or echoed (its id is: {@link ApiToken#id}).
 *
 * <p>{@link #authenticate} (for every {@code /api} path, matched or not) answers 401 or attaches
 * the {@link Caller}; {@link #authorize} (for every matched route) answers 403 unless the route's
 * {@link Access} allows the caller's scope.
 *
 * <p>Without tokens the API listens on loopback only (see Settings), every caller is
 * {@link Caller#LOCAL}, and the {@link CrossSiteGuard} keeps browsers from calling it on behalf of
 * other sites.
 */
final class TokenAuth {
    private static final Logger log = LoggerFactory.getLogger(TokenAuth.class);
    private static final String PREFIX = "Bearer ";
    private final List<ApiToken> tokens;
    private final List<byte[]> digests;
    private final CrossSiteGuard localOnly;

    TokenAuth(List<ApiToken> tokens, String listenHost) {
        this.tokens = List.copyOf(tokens);
        this.digests = tokens.stream().map(token -> ApiToken.digest(token.secret())).toList();
        this.localOnly = new CrossSiteGuard(listenHost);
    }

    boolean enabled() {
        return !digests.isEmpty();
    }

    /** The tokens by id and scope, e.g. "ci (submit), sha256:1f2e3d4c5b6a (admin)": safe to log. */
    String describe() {
        return String.join(", ", tokens.stream().map(token -> token.id() + " (" + token.scope().setting() + ")").toList());
    }

    void authenticate(Context ctx) {
        if (Caller.isKnown(ctx)) return;
        if (!enabled()) {
            localOnly.check(ctx);
            Caller.LOCAL.attachTo(ctx);
            return;
        }
        String header = ctx.header("Authorization");
        if (header == null || !header.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
            throw unauthorized(ctx, "missing bearer token: send 'Authorization: Bearer <token>'");
        }
        byte[] presented = ApiToken.digest(header.substring(PREFIX.length()).trim());
        int matched = -1;
        for (int i = 0; i < digests.size(); i++) {
            // every digest is compared, whichever matches
            if (MessageDigest.isEqual(digests.get(i), presented)) matched = i;
        }
        if (matched < 0) throw unauthorized(ctx, "invalid bearer token");
        Caller.of(tokens.get(matched)).attachTo(ctx);
    }

    /** Runs once the route is known: its {@link Access} decides. */
    void authorize(Context ctx) {
        // No route matched, yet something is served: one of the dashboard's files, which hold no data.
        if (ctx.endpoints().matchedHttpEndpoint() == null) return;
        Access access = Access.of(ctx.routeRoles());
        if (access == null) {
            // Fail closed: a route listed without its Access is a programming error, not an open door.
            log.error("route {} {} has no Access rule; refused", ctx.method(), ctx.endpoints().matchedHttpEndpoint().path);
            throw new ApiError(403, "this route has no access rule; it is refused to everyone", Map.of());
        }
        if (access == Access.PUBLIC) return;
        authenticate(ctx);
        Caller caller = Caller.of(ctx);
        if (!access.allows(caller.scope())) {
            throw new ApiError(403, "this token's scope (" + caller.scope().setting() + ") may not do this: it needs "
                    + String.join(" or ", access.scopes().stream().map(ApiToken.Scope::setting).toList()),
                    Map.of("scope", caller.scope().setting(),
                            "needs", access.scopes().stream().map(ApiToken.Scope::setting).toList()));
        }
    }

    private static ApiError unauthorized(Context ctx, String message) {
        // RFC 6750: a 401 names the scheme the client should use.
        ctx.header("WWW-Authenticate", "Bearer realm=\"procq\"");
        return new ApiError(401, message, Map.of());
    }
}
