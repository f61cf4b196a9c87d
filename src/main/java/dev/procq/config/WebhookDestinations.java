package dev.procq.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * PROCQ_WEBHOOK_ALLOWLIST: the only places procq POSTs to, as {@code name=URL} pairs, comma-separated
 * ({@code ops=https://hooks.example/procq,ci=https://ci.example/hooks/}). A submitter names one
 * ({@code "webhook": "ops"}) or gives a URL: the entry's URL itself, or, for an entry that ends in
 * {@code /}, a URL below it (after normalising {@code ..}). Nothing else is ever a destination.
 */
public final class WebhookDestinations {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    public static final WebhookDestinations NONE = new WebhookDestinations(Map.of());

    private final Map<String, URI> byName;

    private WebhookDestinations(Map<String, URI> byName) {
        this.byName = Collections.unmodifiableMap(byName);
    }

    /** Parses the variable's value; a bad entry is a {@link ConfigException} naming it. */
    public static WebhookDestinations parse(String variable, String value) {
        Map<String, URI> entries = new LinkedHashMap<>();
        for (String pair : value.split(",")) {
            if (pair.isBlank()) continue;
            int eq = pair.indexOf('=');
            if (eq <= 0) throw new ConfigException(variable + ": '" + pair.trim() + "' is not name=URL, e.g. ops=https://hooks.example/procq");
            String name = pair.substring(0, eq).trim();
            String url = pair.substring(eq + 1).trim();
            if (!NAME.matcher(name).matches()) {
                throw new ConfigException(variable + ": name '" + name + "' must be 1 to 64 letters, digits, '_', '.' or '-'");
            }
            URI uri = httpUrl(url).orElseThrow(() -> new ConfigException(variable + ": " + name + "=" + url
                    + " is not an absolute http(s) URL without user info or fragment"));
            if (entries.put(name, uri) != null) throw new ConfigException(variable + ": name '" + name + "' is given twice");
        }
        return new WebhookDestinations(entries);
    }

    public boolean isEmpty() {
        return byName.isEmpty();
    }

    public Map<String, URI> entries() {
        return byName;
    }

    /** The URL a submitter's {@code webhook} stands for, or empty if it is neither a name nor an allowed URL. */
    public Optional<String> resolve(String given) {
        URI named = byName.get(given);
        if (named != null) return Optional.of(named.toString());
        Optional<URI> uri = httpUrl(given);
        if (uri.isEmpty()) return Optional.empty();
        String candidate = uri.get().toString();
        for (URI allowed : byName.values()) {
            String prefix = allowed.toString();
            if (candidate.equals(prefix) || (prefix.endsWith("/") && candidate.startsWith(prefix))) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Whether a stored destination is still allowed (the operator may have narrowed the list since). */
    public boolean allows(String url) {
        return resolve(url).filter(url::equals).isPresent();
    }

    /** The names, for an error message: a refusal never echoes the operator's URLs. */
    public String names() {
        return byName.isEmpty() ? "none: PROCQ_WEBHOOK_ALLOWLIST is empty" : String.join(", ", byName.keySet());
    }

    private static Optional<URI> httpUrl(String text) {
        try {
            URI uri = new URI(text).normalize();
            boolean http = "http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme());
            if (!http || uri.getHost() == null || uri.getRawUserInfo() != null || uri.getRawFragment() != null
                    || uri.getRawPath() == null || uri.getRawPath().contains("/..") || uri.getRawPath().startsWith("..")) {
                return Optional.empty();
            }
            return Optional.of(uri);
        } catch (URISyntaxException e) {
            return Optional.empty();
        }
    }
}
