package dev.procq.api;

import io.javalin.http.staticfiles.Location;
import io.javalin.http.staticfiles.StaticFileConfig;
import java.util.Map;

/**
 * The web dashboard: plain files under {@code src/main/resources/dashboard/}, served at {@code /}
 * without a token (they hold no data; the page asks for the token and sends it to {@code /api}).
 * The page only ever runs its own script, so the policy forbids everything else: no inline script or
 * style, no other origin, no framing. Data reaches the page as text nodes, never as markup.
 */
final class Dashboard {
    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; "
            + "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    static final Map<String, String> HEADERS = Map.of(
            "Content-Security-Policy", CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options", "nosniff",
            "Referrer-Policy", "no-referrer",
            // The files change with the jar; revalidate (ETag) rather than run a stale script against a newer API.
            "Cache-Control", "no-cache");

    private Dashboard() {
    }

    static void files(StaticFileConfig files) {
        files.hostedPath = "/";
        files.directory = "/dashboard";
        files.location = Location.CLASSPATH;
        files.headers = HEADERS;
    }
}
