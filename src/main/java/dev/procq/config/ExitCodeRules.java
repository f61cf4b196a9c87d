package dev.procq.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A type's {@code exitCodes}: which exit codes end a job OK, which fail it at once, which are
 * worth another attempt, and whether a timeout or a signal is. Parsed from the job-types file,
 * or from an operator's procq.job_type.exit_codes, by the same rules.
 *
 * @param ok             exit codes that mean success
 * @param failNow        exit codes that fail the job at once, whatever attempts remain
 * @param retry          the only exit codes that retry; null when every other failing code does
 * @param retryOnTimeout whether a child stopped at its timeout is run again
 * @param retryOnSignal  whether a child ended by a signal nobody here sent is run again
 */
public record ExitCodeRules(Codes ok, Codes failNow, Codes retry, boolean retryOnTimeout, boolean retryOnSignal) {
    public static final int MAX_CODE = 255;
    /** Exit 0 is OK, every other failure retries while attempts remain. */
    public static final ExitCodeRules DEFAULT = new ExitCodeRules(Codes.of(0), Codes.NONE, null, true, true);

    private static final Set<String> KEYS = Set.of("ok", "failNow", "retry", "retryOnTimeout", "retryOnSignal");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern RANGE = Pattern.compile("^\\s*(\\d{1,3})\\s*-\\s*(\\d{1,3})\\s*$");

    /** A set of exit codes, kept as sorted, merged ranges; shown as {@code [0, 1, "64-78"]}. */
    public record Codes(List<Range> ranges) {
        public static final Codes NONE = new Codes(List.of());

        public Codes {
            ranges = merge(ranges);
        }

        static Codes of(int... codes) {
            List<Range> ranges = new ArrayList<>();
            for (int code : codes) ranges.add(new Range(code, code));
            return new Codes(ranges);
        }

        public boolean contains(int code) {
            for (Range range : ranges) {
                if (range.from() <= code && code <= range.to()) return true;
            }
            return false;
        }

        /** The lowest code in both sets, or -1. */
        int firstShared(Codes other) {
            for (Range mine : ranges) {
                for (Range theirs : other.ranges) {
                    int from = Math.max(mine.from(), theirs.from());
                    if (from <= Math.min(mine.to(), theirs.to())) return from;
                }
            }
            return -1;
        }

        /** The JSON/YAML form: a single code as a number, a range as "from-to". */
        public List<Object> asList() {
            List<Object> list = new ArrayList<>();
            for (Range range : ranges) list.add(range.from() == range.to() ? (Object) range.from() : range.toString());
            return list;
        }

        private static List<Range> merge(List<Range> ranges) {
            List<Range> sorted = new ArrayList<>(ranges);
            sorted.sort(Comparator.comparingInt(Range::from));
            List<Range> merged = new ArrayList<>();
            for (Range range : sorted) {
                Range last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
                if (last != null && range.from() <= last.to() + 1) {
                    merged.set(merged.size() - 1, new Range(last.from(), Math.max(last.to(), range.to())));
                } else {
                    merged.add(range);
                }
            }
            return List.copyOf(merged);
        }
    }

    public record Range(int from, int to) {
        @Override
        public String toString() {
            return from + "-" + to;
        }
    }

    /** The JSON/YAML form, every key present: what {@code GET /api/v1/types} shows. */
    public Map<String, Object> asMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("ok", ok.asList());
        map.put("failNow", failNow.asList());
        map.put("retry", retry == null ? null : retry.asList());
        map.put("retryOnTimeout", retryOnTimeout);
        map.put("retryOnSignal", retryOnSignal);
        return map;
    }

    /**
     * Parses an {@code exitCodes} mapping; {@code where} names it in every error
     * ("jobtypes.yaml: types.fetch.exitCodes"). A missing or null node gives {@link #DEFAULT}.
     */
    public static ExitCodeRules parse(JsonNode node, String where) {
        if (node == null || node.isNull()) return DEFAULT;
        if (!node.isObject()) {
            throw new ConfigException(where + ": expected a mapping like {ok: [0], failNow: [3, 6], retry: [7, 28]}");
        }
        node.fieldNames().forEachRemaining(key -> {
            if (!KEYS.contains(key)) {
                throw new ConfigException(where + "." + key + ": unknown setting (known: ok, failNow, retry, retryOnTimeout, retryOnSignal)");
            }
        });
        boolean okGiven = node.hasNonNull("ok");
        Codes ok = okGiven ? codes(node.get("ok"), where + ".ok") : DEFAULT.ok();
        if (ok.ranges().isEmpty()) {
            throw new ConfigException(where + ".ok: lists no code, so no job could ever succeed (leave it out for the default [0])");
        }
        Codes failNow = node.hasNonNull("failNow") ? codes(node.get("failNow"), where + ".failNow") : Codes.NONE;
        Codes retry = node.hasNonNull("retry") ? codes(node.get("retry"), where + ".retry") : null;
        String okName = okGiven ? "ok" : "ok (the default [0])";
        refuseOverlap(ok, okName, failNow, "failNow", where);
        if (retry != null) {
            refuseOverlap(ok, okName, retry, "retry", where);
            refuseOverlap(failNow, "failNow", retry, "retry", where);
        }
        return new ExitCodeRules(ok, failNow, retry,
                flag(node.get("retryOnTimeout"), where + ".retryOnTimeout"),
                flag(node.get("retryOnSignal"), where + ".retryOnSignal"));
    }

    /** Parses rules kept as JSON text (procq.job_type.exit_codes), by the same rules as the file's. */
    public static ExitCodeRules parseJson(String json, String where) {
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ConfigException(where + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || node.isNull()) {
            throw new ConfigException(where + ": expected a mapping like {\"ok\": [0], \"failNow\": [3, 6]}");
        }
        return parse(node, where);
    }

    private static void refuseOverlap(Codes first, String firstName, Codes second, String secondName, String where) {
        int shared = first.firstShared(second);
        if (shared >= 0) {
            throw new ConfigException(where + ": exit code " + shared + " is in both " + firstName + " and "
                    + secondName + "; a code may be in one list only");
        }
    }

    private static Codes codes(JsonNode node, String where) {
        if (!node.isArray()) {
            throw new ConfigException(where + ": expected a list of exit codes like [3, 6] or [\"64-78\"], got " + node);
        }
        List<Range> ranges = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            ranges.add(range(node.get(i), where + "[" + i + "]"));
        }
        return new Codes(ranges);
    }

    private static Range range(JsonNode element, String where) {
        if (element.isIntegralNumber() && element.canConvertToInt()) {
            return new Range(code(element.asInt(), where), code(element.asInt(), where));
        }
        if (element.isTextual()) {
            Matcher m = RANGE.matcher(element.asText());
            if (m.matches()) {
                int from = code(Integer.parseInt(m.group(1)), where);
                int to = code(Integer.parseInt(m.group(2)), where);
                if (from > to) throw new ConfigException(where + ": range " + from + "-" + to + " runs backwards");
                return new Range(from, to);
            }
        }
        throw new ConfigException(where + ": " + element + " is not an exit code (0.." + MAX_CODE
                + ") or a range like \"64-78\"");
    }

    private static int code(int value, String where) {
        if (value < 0 || value > MAX_CODE) {
            throw new ConfigException(where + ": " + value + " is out of range 0.." + MAX_CODE
                    + " (a process exits with one byte)");
        }
        return value;
    }

    private static boolean flag(JsonNode node, String where) {
        if (node == null || node.isNull()) return true;
        if (!node.isBoolean()) throw new ConfigException(where + ": expected true or false, got " + node);
        return node.asBoolean();
    }
}
