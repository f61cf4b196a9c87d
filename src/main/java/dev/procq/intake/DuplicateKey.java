package dev.procq.intake;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A key given twice in one JSON object. JSON leaves the meaning open (RFC 8259: names
 * "SHOULD be unique"), and parsers disagree on which value wins, so procq refuses such a
 * body instead of guessing. Every parser that reads a request body enables {@link #FEATURE};
 * Jackson then fails at the second occurrence, at any depth, before the value is read.
 *
 * @param key the repeated key
 * @param position where it is, e.g. {@code targets} or {@code scan.root}
 */
public record DuplicateKey(String key, String position) {
    /** The parser feature that makes Jackson track the keys of every object it reads. */
    public static final StreamReadFeature FEATURE = StreamReadFeature.STRICT_DUPLICATE_DETECTION;

    /** Jackson's wording for the failure {@link #FEATURE} raises; it has no type of its own. */
    private static final String JACKSON_MESSAGE = "Duplicate field '";

    /** The duplicate that made the parser fail, if that is what it was. */
    public static Optional<DuplicateKey> of(JsonProcessingException failure) {
        if (!(failure instanceof JsonParseException parse) || parse.getProcessor() == null
                || !String.valueOf(failure.getOriginalMessage()).startsWith(JACKSON_MESSAGE)) {
            return Optional.empty();
        }
        // The parser records the name before it checks it, so its context stands on the duplicate.
        JsonParser parser = parse.getProcessor();
        JsonStreamContext context = parser.getParsingContext();
        return Optional.of(new DuplicateKey(context.getCurrentName(), position(context)));
    }

    public String message() {
        return "duplicate key '" + position + "': each key may appear only once in a JSON object";
    }

    public Map<String, Object> detail() {
        return Map.of("key", key, "position", position);
    }

    public IntakeException refusal() {
        return new IntakeException(400, message(), detail());
    }

    /** The path in the style of intake's other messages: {@code scan.root}, {@code items[2].name}. */
    private static String position(JsonStreamContext context) {
        List<JsonStreamContext> outward = new ArrayList<>();
        for (JsonStreamContext at = context; at != null && !at.inRoot(); at = at.getParent()) outward.add(at);
        StringBuilder path = new StringBuilder();
        for (int i = outward.size() - 1; i >= 0; i--) {
            JsonStreamContext at = outward.get(i);
            if (at.inArray()) {
                path.append('[').append(Math.max(at.getCurrentIndex(), 0)).append(']');
            } else {
                if (path.length() > 0) path.append('.');
                path.append(at.getCurrentName());
            }
        }
        return path.toString();
    }
}
