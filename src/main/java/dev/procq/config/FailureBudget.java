package dev.procq.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How many failures a batch may have before it halts: it stops claiming, its PENDING jobs stay
 * PENDING, running ones finish. Any rule that is set can halt it; a null rule never does.
 * PostgreSQL decides the halt (procq.job_count_changes), from the copy of these values on the
 * batch row.
 *
 * <p>The same shape everywhere: {@code halt: {failed: 100}}, {@code {failedPercent: 20, after: 50}}
 * or {@code {inARow: 10}} in the job-types file, {@code "halt": {...}} in a JSON submission
 * ({@code {}}: no budget), and {@code failed=100,inARow=10} (or {@code none}) as text in a query
 * string or on the command line.
 *
 * @param failed        halt once this many targets have FAILED
 * @param failedPercent halt once this share (above 0, at most 100) of the finished targets FAILED...
 * @param after         ...counted once at least this many have finished (required with failedPercent)
 * @param inARow        halt once this many targets FAILED with no OK in between
 */
public record FailureBudget(Long failed, Double failedPercent, Long after, Long inARow) {
    public static final FailureBudget NONE = new FailureBudget(null, null, null, null);
    static final Set<String> KEYS = Set.of("failed", "failedPercent", "after", "inARow");
    private static final long MAX_COUNT = 1_000_000_000_000L;

    public FailureBudget {
        if (failed != null && (failed < 1 || failed > MAX_COUNT)) {
            throw new IllegalArgumentException("failed: " + failed + " is out of range 1.." + MAX_COUNT);
        }
        if (inARow != null && (inARow < 1 || inARow > MAX_COUNT)) {
            throw new IllegalArgumentException("inARow: " + inARow + " is out of range 1.." + MAX_COUNT);
        }
        if (failedPercent != null && !(failedPercent > 0 && failedPercent <= 100)) {
            throw new IllegalArgumentException("failedPercent: " + failedPercent + " must be above 0 and at most 100");
        }
        if (after != null && (after < 1 || after > MAX_COUNT)) {
            throw new IllegalArgumentException("after: " + after + " is out of range 1.." + MAX_COUNT);
        }
        if (failedPercent != null && after == null) {
            throw new IllegalArgumentException("failedPercent needs after: how many targets must finish before the share counts"
                    + " (e.g. failedPercent: 20, after: 50)");
        }
        if (after != null && failedPercent == null) {
            throw new IllegalArgumentException("after only goes with failedPercent");
        }
    }

    public boolean isNone() {
        return equals(NONE);
    }

    /** A mapping such as {failed: 100} from YAML or JSON; the message names the bad key. */
    public static FailureBudget of(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("expected a mapping of failed, failedPercent (with after), inARow, got "
                    + (node == null ? "nothing" : node.toString()));
        }
        Map<String, Number> values = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            String key = field.getKey();
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException(key + ": unknown rule (known: failed, failedPercent, after, inARow)");
            }
            JsonNode value = field.getValue();
            if (key.equals("failedPercent") ? !value.isNumber() : !(value.isIntegralNumber() && value.canConvertToLong())) {
                throw new IllegalArgumentException(key + ": '" + value.asText() + "' is not "
                        + (key.equals("failedPercent") ? "a number" : "a whole number"));
            }
            values.put(key, key.equals("failedPercent") ? (Number) value.asDouble() : (Number) value.asLong());
        }
        return of(values);
    }

    /** The text form: {@code failed=100,failedPercent=20,after=50,inARow=10} in any order, or {@code none}. */
    public static FailureBudget parse(String text) {
        String trimmed = text.trim();
        if (trimmed.equals("none")) return NONE;
        Map<String, Number> values = new LinkedHashMap<>();
        for (String part : trimmed.split(",", -1)) {
            int equals = part.indexOf('=');
            if (equals < 0) {
                throw new IllegalArgumentException("'" + part.trim() + "' is not RULE=NUMBER (rules: failed, failedPercent, after, inARow;"
                        + " e.g. failed=100 or failedPercent=20,after=50, or none)");
            }
            String key = part.substring(0, equals).trim();
            String raw = part.substring(equals + 1).trim();
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException(key + ": unknown rule (known: failed, failedPercent, after, inARow)");
            }
            if (values.containsKey(key)) throw new IllegalArgumentException(key + ": given twice");
            try {
                values.put(key, key.equals("failedPercent") ? (Number) Double.parseDouble(raw) : (Number) Long.parseLong(raw));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(key + ": '" + raw + "' is not " + (key.equals("failedPercent") ? "a number" : "a whole number"));
            }
        }
        return of(values);
    }

    private static FailureBudget of(Map<String, Number> values) {
        Number percent = values.get("failedPercent");
        return new FailureBudget((Long) values.get("failed"), percent == null ? null : percent.doubleValue(),
                (Long) values.get("after"), (Long) values.get("inARow"));
    }

    /** The text form, {@code none} for no budget; {@link #parse} reads it back. */
    public String text() {
        List<String> parts = new ArrayList<>();
        if (failed != null) parts.add("failed=" + failed);
        if (failedPercent != null) parts.add("failedPercent=" + formatPercent(failedPercent) + ",after=" + after);
        if (inARow != null) parts.add("inARow=" + inARow);
        return parts.isEmpty() ? "none" : String.join(",", parts);
    }

    private static String formatPercent(double percent) {
        return percent == Math.rint(percent) ? Long.toString((long) percent) : Double.toString(percent);
    }
}
