package dev.procq.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.dialect.Dialects;
import dev.procq.api.ApiServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * The API's OpenAPI document (src/main/resources/openapi.json) as a test oracle: {@link #check}
 * fails unless a real answer is one the document describes for its method, path and status, with
 * the headers it requires and a body its schema accepts. Give it to a {@link Procq} with
 * {@link Procq#checkedAgainst} and every answer that harness receives is checked.
 */
public final class OpenApiContract {
    /** Where the schemas are registered, so that the document's own "#/components/..." references resolve. */
    private static final String BASE = "https://procq.invalid/openapi.json";
    /**
     * What answers a path or method the document does not list, with the error body, as its
     * description says: 404, or under /api first 401 (no valid token) or 403 (without tokens: a
     * name other than loopback, or a cross-site write).
     */
    private static final Set<Integer> UNLISTED = Set.of(401, 403, 404);
    private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "options", "head", "patch", "trace");

    private final String text;
    private final JsonNode document;
    private final SchemaRegistry schemas;
    private final Map<String, Schema> compiled = new ConcurrentHashMap<>();
    private final Set<String> seen = ConcurrentHashMap.newKeySet();

    private OpenApiContract(String text) {
        this.text = text;
        try {
            this.document = Procq.JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Formats are asserted (date-time, uuid), not only annotations: a timestamp that is not
        // RFC 3339 would break generated clients just as a wrong type would.
        this.schemas = SchemaRegistry.withDefaultDialect(Dialects.getOpenApi31(), builder -> builder
                .schemas(Map.of(BASE, text))
                .schemaRegistryConfig(SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()));
    }

    /** The document the server serves, read from the classpath. */
    public static OpenApiContract load() {
        try (InputStream in = ApiServer.class.getResourceAsStream(ApiServer.OPENAPI_RESOURCE)) {
            if (in == null) throw new IllegalStateException(ApiServer.OPENAPI_RESOURCE + " is not on the classpath");
            return new OpenApiContract(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String text() {
        return text;
    }

    public JsonNode document() {
        return document;
    }

    /** Every operation the document lists, as "METHOD /path/{param}". */
    public Set<String> operations() {
        Set<String> operations = new TreeSet<>();
        for (Map.Entry<String, JsonNode> path : document.get("paths").properties()) {
            for (String key : names(path.getValue())) {
                if (METHODS.contains(key)) operations.add(key.toUpperCase(Locale.ROOT) + " " + path.getKey());
            }
        }
        return operations;
    }

    /** Every answer checked so far, as "METHOD /path/{param} STATUS". */
    public Set<String> seen() {
        return new TreeSet<>(seen);
    }

    /** Fails (AssertionError) unless the document describes this answer to {@code method} {@code path} (query allowed). */
    public void check(String method, String path, Procq.Response response) {
        String template = template(path.replaceFirst("\\?.*", ""));
        JsonNode operation = template == null ? null : document.get("paths").get(template).get(method.toLowerCase(Locale.ROOT));
        if (operation == null) {
            // What the document's description promises for everything it does not list.
            String where = method + " " + path + " (not in the document) " + response.status();
            if (!UNLISTED.contains(response.status())) throw new AssertionError(where + ": only " + UNLISTED + " may answer it");
            validate(where, "/components/schemas/Error", response.body());
            seen.add(where);
            return;
        }
        String where = method + " " + template + " " + response.status();
        String pointer = "/paths/" + escape(template) + "/" + method.toLowerCase(Locale.ROOT) + "/responses/" + response.status();
        JsonNode described = operation.get("responses").get(Integer.toString(response.status()));
        if (described == null) {
            throw new AssertionError(where + " is not in the document (it lists "
                    + names(operation.get("responses")) + "): " + response.body());
        }
        if (described.has("$ref")) {
            pointer = described.get("$ref").asText().substring(1);
            described = document.at(pointer);
        }
        for (Map.Entry<String, JsonNode> header : described.path("headers").properties()) {
            JsonNode spec = header.getValue().has("$ref") ? document.at(header.getValue().get("$ref").asText().substring(1)) : header.getValue();
            if (spec.path("required").asBoolean(false) && response.header(header.getKey()) == null) {
                throw new AssertionError(where + ": the document requires the header " + header.getKey());
            }
        }
        JsonNode content = described.get("content");
        if (content == null) {
            if (!response.body().isEmpty()) throw new AssertionError(where + ": the document describes no body, got " + response.body());
            seen.add(where);
            return;
        }
        String contentType = response.header("Content-Type");
        String mediaType = contentType == null ? "" : contentType.replaceFirst(";.*", "").trim().toLowerCase(Locale.ROOT);
        if (!content.has(mediaType)) {
            throw new AssertionError(where + ": Content-Type " + contentType + " is not one the document gives ("
                    + names(content) + ")");
        }
        if (mediaType.equals("application/json")) validate(where, pointer + "/content/" + escape(mediaType) + "/schema", response.body());
        seen.add(where);
    }

    /** Fails unless the document's schema for the JSON request body of {@code method} {@code template} accepts {@code body}. */
    public void checkRequest(String method, String template, String body) {
        String operation = "/paths/" + escape(template) + "/" + method.toLowerCase(Locale.ROOT);
        if (document.at(operation.replace("%7B", "{").replace("%7D", "}") + "/requestBody").isMissingNode()) {
            throw new AssertionError(method + " " + template + " takes no body in the document");
        }
        validate(method + " " + template + " request", operation + "/requestBody/content/application~1json/schema", body);
    }

    private void validate(String where, String schemaPointer, String body) {
        Schema schema = compiled.computeIfAbsent(schemaPointer, key -> schemas.getSchema(SchemaLocation.of(BASE + "#" + key)));
        List<com.networknt.schema.Error> errors = schema.validate(body, InputFormat.JSON);
        if (!errors.isEmpty()) {
            throw new AssertionError(where + ": the body does not match the document's schema ("
                    + errors.stream().map(Object::toString).collect(Collectors.joining("; ")) + "): " + body);
        }
    }

    /** The document's path template that a concrete path matches (a literal segment beats a parameter), or null. */
    private String template(String path) {
        String[] segments = path.split("/", -1);
        String best = null;
        int bestLiterals = -1;
        for (String candidate : names(document.get("paths"))) {
            String[] parts = candidate.split("/", -1);
            if (parts.length != segments.length) continue;
            int literals = 0;
            boolean matches = true;
            for (int i = 0; i < parts.length && matches; i++) {
                boolean parameter = parts[i].startsWith("{") && parts[i].endsWith("}");
                if (parameter) {
                    matches = !segments[i].isEmpty();
                } else {
                    matches = parts[i].equals(segments[i]);
                    literals++;
                }
            }
            if (matches && literals > bestLiterals) {
                best = candidate;
                bestLiterals = literals;
            }
        }
        return best;
    }

    /** A JSON pointer token inside a URI fragment (RFC 6901 sections 4 and 6). */
    private static String escape(String token) {
        return token.replace("~", "~0").replace("/", "~1").replace("{", "%7B").replace("}", "%7D");
    }

    private static List<String> names(JsonNode object) {
        return object.properties().stream().map(Map.Entry::getKey).toList();
    }
}
