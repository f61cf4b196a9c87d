package dev.procq.testing;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict parser of the Prometheus text exposition format 0.0.4: every sample belongs to a
 * family declared by # TYPE before it, a family's samples are contiguous, no series appears
 * twice, label values use only the three escapes, values are floats, and histogram buckets
 * are cumulative and end in +Inf equal to _count. Anything else throws, naming the line.
 */
public final class PrometheusText {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Pattern TYPE = Pattern.compile("^# TYPE (" + NAME + ") (counter|gauge|histogram|summary|untyped)$");
    private static final Pattern HELP = Pattern.compile("^# HELP (" + NAME + ") (.*)$");
    private static final Pattern VALUE = Pattern.compile("^([+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?|[+-]?Inf|NaN)$");

    public record Sample(String name, Map<String, String> labels, double value) {
    }

    public record Family(String name, String type, List<Sample> samples) {
    }

    private final Map<String, Family> families = new LinkedHashMap<>();

    private PrometheusText() {
    }

    public static PrometheusText parse(String text) {
        PrometheusText parsed = new PrometheusText();
        parsed.read(text);
        return parsed;
    }

    public Map<String, Family> families() {
        return families;
    }

    /** The value of the one series with this sample name and exactly these labels (besides any common tags given as extra). */
    public Double value(String sampleName, Map<String, String> labels) {
        for (Family family : families.values()) {
            for (Sample sample : family.samples()) {
                if (sample.name().equals(sampleName) && sample.labels().entrySet().containsAll(labels.entrySet())
                        && matchesOnly(sample.labels(), labels)) {
                    return sample.value();
                }
            }
        }
        return null;
    }

    /** Every sample with this name whose labels include the given ones. */
    public List<Sample> samples(String sampleName, Map<String, String> labels) {
        List<Sample> found = new ArrayList<>();
        for (Family family : families.values()) {
            for (Sample sample : family.samples()) {
                if (sample.name().equals(sampleName) && sample.labels().entrySet().containsAll(labels.entrySet())) {
                    found.add(sample);
                }
            }
        }
        return found;
    }

    private static boolean matchesOnly(Map<String, String> actual, Map<String, String> wanted) {
        // Labels procq adds to every meter do not count against "exactly".
        for (String name : actual.keySet()) {
            if (!wanted.containsKey(name) && !name.equals("component")) return false;
        }
        return true;
    }

    private void read(String text) {
        if (!text.isEmpty() && !text.endsWith("\n")) throw new IllegalArgumentException("the exposition must end with a newline");
        Set<String> series = new HashSet<>();
        Set<String> closed = new HashSet<>();
        String current = null;
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length - 1; i++) {
            String line = lines[i];
            String where = "line " + (i + 1) + ": '" + line + "': ";
            if (line.isEmpty()) continue;
            if (line.startsWith("#")) {
                Matcher type = TYPE.matcher(line);
                if (type.matches()) {
                    String name = type.group(1);
                    if (families.containsKey(name)) throw new IllegalArgumentException(where + "second TYPE for " + name);
                    families.put(name, new Family(name, type.group(2), new ArrayList<>()));
                    continue;
                }
                if (line.startsWith("# HELP ") && !HELP.matcher(line).matches()) {
                    throw new IllegalArgumentException(where + "malformed HELP");
                }
                if (line.startsWith("# TYPE ")) throw new IllegalArgumentException(where + "malformed TYPE");
                continue;
            }
            Sample sample = sample(line, where);
            Family family = familyOf(sample.name(), where);
            if (!family.name().equals(current)) {
                if (closed.contains(family.name())) throw new IllegalArgumentException(where + "samples of " + family.name() + " are not together");
                if (current != null) closed.add(current);
                current = family.name();
            }
            String key = sample.name() + new TreeMap<>(sample.labels());
            if (!series.add(key)) throw new IllegalArgumentException(where + "series appears twice");
            family.samples().add(sample);
        }
        for (Family family : families.values()) {
            if (family.type().equals("histogram")) checkHistogram(family);
        }
    }

    private Family familyOf(String sampleName, String where) {
        Family exact = families.get(sampleName);
        if (exact != null) return exact;
        for (String suffix : List.of("_total", "_created", "_bucket", "_sum", "_count", "_max")) {
            if (!sampleName.endsWith(suffix)) continue;
            Family family = families.get(sampleName.substring(0, sampleName.length() - suffix.length()));
            if (family == null) continue;
            boolean fits = switch (family.type()) {
                case "counter" -> suffix.equals("_total") || suffix.equals("_created");
                case "histogram" -> suffix.equals("_bucket") || suffix.equals("_sum") || suffix.equals("_count") || suffix.equals("_created");
                case "summary" -> suffix.equals("_sum") || suffix.equals("_count") || suffix.equals("_created");
                default -> false;
            };
            if (fits) return family;
        }
        throw new IllegalArgumentException(where + "no # TYPE declared before sample " + sampleName);
    }

    private static Sample sample(String line, String where) {
        Matcher name = NAME.matcher(line);
        if (!name.lookingAt()) throw new IllegalArgumentException(where + "no metric name");
        int at = name.end();
        Map<String, String> labels = new LinkedHashMap<>();
        if (at < line.length() && line.charAt(at) == '{') {
            at++;
            while (line.charAt(at) != '}') {
                Matcher labelName = LABEL_NAME.matcher(line).region(at, line.length());
                if (!labelName.lookingAt()) throw new IllegalArgumentException(where + "bad label name at " + at);
                at = labelName.end();
                if (line.charAt(at) != '=' || line.charAt(at + 1) != '"') throw new IllegalArgumentException(where + "expected =\" at " + at);
                at += 2;
                StringBuilder value = new StringBuilder();
                while (line.charAt(at) != '"') {
                    char c = line.charAt(at);
                    if (c == '\\') {
                        char escaped = line.charAt(at + 1);
                        switch (escaped) {
                            case '\\' -> value.append('\\');
                            case '"' -> value.append('"');
                            case 'n' -> value.append('\n');
                            default -> throw new IllegalArgumentException(where + "bad escape \\" + escaped);
                        }
                        at += 2;
                    } else {
                        value.append(c);
                        at++;
                    }
                }
                at++;
                if (labels.put(labelName.group(), value.toString()) != null) {
                    throw new IllegalArgumentException(where + "label " + labelName.group() + " twice");
                }
                if (line.charAt(at) == ',') at++;
                else if (line.charAt(at) != '}') throw new IllegalArgumentException(where + "expected , or } at " + at);
            }
            at++;
        }
        if (at >= line.length() || line.charAt(at) != ' ') throw new IllegalArgumentException(where + "expected a space before the value");
        String[] rest = line.substring(at + 1).split(" ");
        if (rest.length < 1 || rest.length > 2) throw new IllegalArgumentException(where + "expected value [timestamp]");
        if (!VALUE.matcher(rest[0]).matches()) throw new IllegalArgumentException(where + "value is not a float: " + rest[0]);
        if (rest.length == 2 && !rest[1].matches("-?\\d+")) throw new IllegalArgumentException(where + "timestamp is not an integer");
        return new Sample(name.group(), labels, parseValue(rest[0]));
    }

    private static double parseValue(String text) {
        return switch (text) {
            case "+Inf", "Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(text);
        };
    }

    private static void checkHistogram(Family family) {
        Map<Map<String, String>, List<Sample>> bucketsBySeries = new LinkedHashMap<>();
        Map<Map<String, String>, Double> counts = new LinkedHashMap<>();
        for (Sample sample : family.samples()) {
            if (sample.name().endsWith("_bucket")) {
                Map<String, String> series = new TreeMap<>(sample.labels());
                if (series.remove("le") == null) throw new IllegalArgumentException(family.name() + ": bucket without le");
                bucketsBySeries.computeIfAbsent(series, k -> new ArrayList<>()).add(sample);
            } else if (sample.name().endsWith("_count")) {
                counts.put(new TreeMap<>(sample.labels()), sample.value());
            }
        }
        bucketsBySeries.forEach((series, buckets) -> {
            double previousLe = Double.NEGATIVE_INFINITY;
            double previousCount = 0;
            for (Sample bucket : buckets) {
                double le = parseValue(bucket.labels().get("le"));
                if (le <= previousLe) throw new IllegalArgumentException(family.name() + series + ": le not increasing");
                if (bucket.value() < previousCount) throw new IllegalArgumentException(family.name() + series + ": buckets not cumulative");
                previousLe = le;
                previousCount = bucket.value();
            }
            if (previousLe != Double.POSITIVE_INFINITY) throw new IllegalArgumentException(family.name() + series + ": no +Inf bucket");
            Double count = counts.get(series);
            if (count == null || count != previousCount) {
                throw new IllegalArgumentException(family.name() + series + ": +Inf bucket " + previousCount + " differs from _count " + count);
            }
        });
    }
}
