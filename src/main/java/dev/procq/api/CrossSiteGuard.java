package dev.procq.api;

import io.javalin.http.Context;
import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Without tokens the API trusts whoever reaches its loopback port. A web browser on the same
 * machine is such a caller, on behalf of any site it visits: a page can POST a text/plain body to
 * http://127.0.0.1:8080/api/v1/batches without a CORS preflight, and with DNS rebinding a page can
 * even read answers under its own host name. So, for /api without tokens:
 * <ul>
 *   <li>the Host header must name loopback ({@code localhost}, {@code 127.x.x.x}, {@code [::1]})
 *       or the configured PROCQ_HTTP_HOST, never a name resolved now (that is what rebinding
 *       abuses);</li>
 *   <li>a request that changes something and comes from another origin (its {@code Origin} is not
 *       the Host it was sent to, or {@code Sec-Fetch-Site} says cross-site) is refused.</li>
 * </ul>
 * With tokens none of this is needed: a bearer token is never sent by a browser on its own.
 */
final class CrossSiteGuard {
    private static final Pattern IPV4_LOOPBACK = Pattern.compile("^127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$");
    private static final Set<String> IPV6_LOOPBACK = Set.of("::1", "0:0:0:0:0:0:0:1");
    private static final Set<String> SAFE_METHODS = Set.of("GET", "HEAD", "OPTIONS");

    private final String listenHost;

    CrossSiteGuard(String listenHost) {
        this.listenHost = stripBrackets(listenHost.toLowerCase(Locale.ROOT));
    }

    void check(Context ctx) {
        String host = ctx.header("Host");
        if (host == null || !isLocalName(hostPart(host))) {
            throw forbidden("without PROCQ_API_TOKENS the API answers only requests addressed to a loopback name "
                    + "such as 127.0.0.1 or localhost; set PROCQ_API_TOKENS to serve other names");
        }
        if (SAFE_METHODS.contains(ctx.method().name())) return;
        String origin = ctx.header("Origin");
        if (origin != null && !sameAuthority(origin, host)) {
            throw forbidden("cross-origin request refused: without PROCQ_API_TOKENS only pages served by this API "
                    + "may change anything");
        }
        String fetchSite = ctx.header("Sec-Fetch-Site");
        if (fetchSite != null && (fetchSite.equalsIgnoreCase("cross-site") || fetchSite.equalsIgnoreCase("same-site"))) {
            throw forbidden("cross-site request refused: without PROCQ_API_TOKENS only pages served by this API "
                    + "may change anything");
        }
    }

    private boolean isLocalName(String host) {
        String name = stripBrackets(host.toLowerCase(Locale.ROOT));
        return name.equals("localhost") || IPV4_LOOPBACK.matcher(name).matches() || IPV6_LOOPBACK.contains(name)
                || name.equals(listenHost);
    }

    /** The Host header without its port: "127.0.0.1:8080" -> "127.0.0.1", "[::1]:8080" -> "[::1]". */
    static String hostPart(String hostHeader) {
        String value = hostHeader.trim();
        if (value.startsWith("[")) {
            int end = value.indexOf(']');
            return end < 0 ? value : value.substring(0, end + 1);
        }
        int colon = value.lastIndexOf(':');
        return colon < 0 ? value : value.substring(0, colon);
    }

    /** True when the Origin (scheme://host[:port]) names the same host and port as the Host header. */
    static boolean sameAuthority(String origin, String hostHeader) {
        URI uri;
        try {
            uri = URI.create(origin.trim());
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (uri.getHost() == null || uri.getScheme() == null) return false; // "null" and other opaque origins
        int defaultPort = uri.getScheme().equalsIgnoreCase("https") ? 443 : 80;
        int originPort = uri.getPort() < 0 ? defaultPort : uri.getPort();
        String host = hostHeader.trim();
        String hostName = hostPart(host);
        int hostPort = defaultPort;
        if (host.length() > hostName.length() + 1 && host.charAt(hostName.length()) == ':') {
            try {
                hostPort = Integer.parseInt(host.substring(hostName.length() + 1));
            } catch (NumberFormatException e) {
                return false;
            }
        }
        return stripBrackets(uri.getHost()).equalsIgnoreCase(stripBrackets(hostName)) && originPort == hostPort;
    }

    private static String stripBrackets(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static ApiError forbidden(String message) {
        return new ApiError(403, message, Map.of());
    }
}
