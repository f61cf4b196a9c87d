package dev.procq.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a type's argv template into one job's argv. Placeholders are replaced inside
 * elements and never split or joined them: a target with spaces, quotes or {@code $(...)}
 * stays one argument, and no shell ever sees it.
 */
final class CommandTemplate {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{(target|meta\\.[A-Za-z0-9_]+)}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private CommandTemplate() {
    }

    /** @throws IllegalArgumentException when a {meta.NAME} the template needs is missing from the job */
    static List<String> expand(List<String> template, String target, String metaJson) {
        JsonNode meta = null;
        List<String> argv = new ArrayList<>(template.size());
        for (String element : template) {
            if (element.indexOf('{') < 0) {
                argv.add(element);
                continue;
            }
            Matcher m = PLACEHOLDER.matcher(element);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                String key = m.group(1);
                String value;
                if (key.equals("target")) {
                    value = target;
                } else {
                    if (meta == null) meta = parse(metaJson);
                    JsonNode field = meta.get(key.substring("meta.".length()));
                    if (field == null || field.isNull() || field.isContainerNode()) {
                        throw new IllegalArgumentException("the command needs {" + key + "} but the job has no such value in meta");
                    }
                    value = field.asText();
                }
                m.appendReplacement(out, Matcher.quoteReplacement(value));
            }
            m.appendTail(out);
            argv.add(out.toString());
        }
        return argv;
    }

    private static JsonNode parse(String metaJson) {
        if (metaJson == null) return JSON.createObjectNode();
        try {
            return JSON.readTree(metaJson);
        } catch (Exception e) {
            return JSON.createObjectNode();
        }
    }
}
