package dev.procq.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The job-types file: the operator's list of what may run. Read once at start-up and
 * checked strictly, so a typo stops start-up with the file, the entry and the bad value.
 */
public final class JobTypes {
    private static final Pattern NAME = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^{}]*)}");
    private static final Pattern META_KEY = Pattern.compile("^meta\\.[A-Za-z0-9_]+$");
    private static final Pattern ENV_NAME = Pattern.compile("^[A-Za-z_][A-Za-z0-9_]*$");
    private static final Set<String> KEYS = Set.of("command", "concurrency", "timeout", "maxAttempts", "backoff",
            "targetPattern", "allowDashTargets", "env", "passEnv", "workingDirectory", "limits", "exitCodes", "sandbox",
            "user", "group", "halt", "globalConcurrency", "key", "keyConcurrency", "keyRate", "rate", "cgroup");
    private static final Pattern ACCOUNT = Pattern.compile("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\\$?$");
    /** A starts-per-second limit: at least one start a day, at most a million a second. */
    private static final double MIN_RATE = 1.0 / 86_400;
    private static final double MAX_RATE = 1_000_000;
    private static final Set<String> LIMIT_KEYS = Set.of("cpuSeconds", "memory", "openFiles", "processes");
    private static final Set<String> SANDBOX_KEYS = Set.of("network", "writable");
    private static final Set<String> CGROUP_KEYS = Set.of("memoryMax", "pidsMax", "cpuMax");
    private static final Pattern PERCENT = Pattern.compile("^(\\d{1,6})\\s*%$");

    private final Map<String, JobType> types;

    public JobTypes(Map<String, JobType> types) {
        this.types = Map.copyOf(types);
    }

    public static JobTypes load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException("job-types file " + file.toAbsolutePath()
                    + " does not exist (set PROCQ_JOB_TYPES to its path)");
        } catch (IOException e) {
            throw new ConfigException("cannot read job-types file " + file + ": " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    public static JobTypes parse(String yaml, String source) {
        JsonNode root;
        try {
            // A setting given twice (two `concurrency:` lines, two types of one name) is an error,
            // not a silent last-one-wins.
            root = new ObjectMapper(new YAMLFactory())
                    .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .readTree(yaml);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ConfigException(source + ": not valid YAML: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ConfigException(source + ": " + e.getMessage(), e);
        }
        if (root == null || !root.isObject() || !root.path("types").isObject()) {
            throw new ConfigException(source + ": expected a top-level 'types:' mapping of type names to definitions");
        }
        Map<String, JobType> types = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> fields = root.get("types").fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> entry = fields.next();
            String where = source + ": types." + entry.getKey();
            types.put(entry.getKey(), parseType(entry.getKey(), entry.getValue(), where));
        }
        if (types.isEmpty()) {
            throw new ConfigException(source + ": 'types:' is empty; define at least one job type");
        }
        return new JobTypes(types);
    }

    private static JobType parseType(String name, JsonNode node, String where) {
        if (!NAME.matcher(name).matches()) {
            throw new ConfigException(where + ": type names are letters, digits, '_', '.' and '-' (at most 63)");
        }
        if (!node.isObject()) {
            throw new ConfigException(where + ": expected a mapping with at least 'command'");
        }
        node.fieldNames().forEachRemaining(key -> {
            if (!KEYS.contains(key)) {
                throw new ConfigException(where + "." + key + ": unknown setting (known: " + String.join(", ", KEYS) + ")");
            }
        });
        List<String> command = stringList(node.get("command"), where + ".command");
        if (command.isEmpty() || command.get(0).isBlank()) {
            throw new ConfigException(where + ".command: must be a non-empty list like [\"convert\", \"{target}\", \"out.jpg\"]");
        }
        if (command.get(0).contains("{")) {
            throw new ConfigException(where + ".command: the program (first element) cannot come from a target");
        }
        boolean mentionsTarget = false;
        for (String element : command) {
            Matcher m = PLACEHOLDER.matcher(element);
            while (m.find()) {
                String key = m.group(1);
                if (key.equals("target")) {
                    mentionsTarget = true;
                } else if (!META_KEY.matcher(key).matches()) {
                    throw new ConfigException(where + ".command: unknown placeholder {" + key
                            + "} (use {target} or {meta.NAME})");
                }
            }
        }
        if (!mentionsTarget) {
            throw new ConfigException(where + ".command: no element contains {target}, so every job would run the same command");
        }
        int concurrency = intValue(node.get("concurrency"), where + ".concurrency", JobType.DEFAULT_CONCURRENCY, 1, 100_000);
        Integer globalConcurrency = node.hasNonNull("globalConcurrency")
                ? intValue(node.get("globalConcurrency"), where + ".globalConcurrency", 0, 1, 1_000_000) : null;
        JobType.Key key = key(node.get("key"), where + ".key");
        Integer keyConcurrency = node.hasNonNull("keyConcurrency")
                ? intValue(node.get("keyConcurrency"), where + ".keyConcurrency", 0, 1, 1_000_000) : null;
        Double keyRate = rate(node.get("keyRate"), where + ".keyRate");
        Double rate = rate(node.get("rate"), where + ".rate");
        if (key == null && (keyConcurrency != null || keyRate != null)) {
            throw new ConfigException(where + ": keyConcurrency and keyRate need a key (key: {regex: '^https?://([^/:]+)'}"
                    + " or key: '{meta.NAME}')");
        }
        int maxAttempts = intValue(node.get("maxAttempts"), where + ".maxAttempts", JobType.DEFAULT_MAX_ATTEMPTS, 1, 1000);
        Duration timeout = duration(node.get("timeout"), where + ".timeout", null);
        Duration backoff = duration(node.get("backoff"), where + ".backoff", JobType.DEFAULT_BACKOFF);
        Pattern targetPattern = null;
        if (node.hasNonNull("targetPattern")) {
            try {
                targetPattern = Pattern.compile(node.get("targetPattern").asText());
            } catch (PatternSyntaxException e) {
                throw new ConfigException(where + ".targetPattern: not a valid regular expression: " + e.getDescription());
            }
        }
        boolean allowDash = booleanValue(node.get("allowDashTargets"), where + ".allowDashTargets");
        Map<String, String> env = new LinkedHashMap<>();
        JsonNode envNode = node.get("env");
        if (envNode != null && !envNode.isNull()) {
            if (!envNode.isObject()) throw new ConfigException(where + ".env: expected a mapping NAME: value");
            envNode.fields().forEachRemaining(e -> {
                if (!ENV_NAME.matcher(e.getKey()).matches() || !e.getValue().isValueNode()) {
                    throw new ConfigException(where + ".env." + e.getKey() + ": expected NAME: value");
                }
                env.put(e.getKey(), e.getValue().asText());
            });
        }
        List<String> passEnv = node.has("passEnv") ? stringList(node.get("passEnv"), where + ".passEnv") : JobType.DEFAULT_PASS_ENV;
        for (String variable : passEnv) {
            if (!ENV_NAME.matcher(variable).matches()) {
                throw new ConfigException(where + ".passEnv: '" + variable + "' is not a variable name");
            }
            if (variable.startsWith("PROCQ_")) {
                throw new ConfigException(where + ".passEnv: " + variable + " is procq's own configuration and may hold secrets; it is never passed to children");
            }
        }
        Path workingDirectory = node.hasNonNull("workingDirectory") ? Path.of(node.get("workingDirectory").asText()) : null;
        JobType.Limits limits = limits(node.get("limits"), where + ".limits");
        ExitCodeRules exitCodes = ExitCodeRules.parse(node.get("exitCodes"), where + ".exitCodes");
        String user = account(node.get("user"), where + ".user");
        String group = account(node.get("group"), where + ".group");
        if (group != null && user == null) {
            throw new ConfigException(where + ".group: needs 'user' too (a child of the worker's own user could take its groups back)");
        }
        JobType.Sandbox sandbox = sandbox(node.get("sandbox"), where + ".sandbox");
        FailureBudget halt = halt(node.get("halt"), where + ".halt");
        JobType.Cgroup cgroup = cgroup(node.get("cgroup"), where + ".cgroup");
        return new JobType(name, List.copyOf(command), concurrency, timeout, maxAttempts, backoff, targetPattern,
                allowDash, Map.copyOf(env), List.copyOf(passEnv), workingDirectory, limits, exitCodes, sandbox,
                user, group, halt, globalConcurrency, key, keyConcurrency, keyRate, rate, cgroup);
    }

    /** A user or group: a name as useradd accepts it, or a number. Resolved to an id when a worker starts. */
    private static String account(JsonNode node, String where) {
        if (node == null || node.isNull()) return null;
        String value = node.isIntegralNumber() ? Long.toString(node.asLong()) : node.isTextual() ? node.asText().trim() : null;
        if (value == null || !ACCOUNT.matcher(value).matches()) {
            throw new ConfigException(where + ": '" + node.asText() + "' is not a user or group name or id");
        }
        return value;
    }

    /** {@code key: {regex: '...'}} with exactly one capture group, or {@code key: '{meta.NAME}'}. */
    private static JobType.Key key(JsonNode node, String where) {
        if (node == null || node.isNull()) return null;
        if (node.isTextual()) {
            Matcher meta = Pattern.compile("^\\{meta\\.([A-Za-z0-9_]+)}$").matcher(node.asText());
            if (!meta.matches()) throw new ConfigException(where + ": '" + node.asText() + "' is not {meta.NAME}; for a"
                    + " part of the target use key: {regex: '...'} with one capture group");
            return new JobType.Key(null, meta.group(1));
        }
        if (!node.isObject() || node.size() != 1 || !node.hasNonNull("regex") || !node.get("regex").isTextual()) {
            throw new ConfigException(where + ": expected {regex: '...'} with one capture group, or '{meta.NAME}'");
        }
        Pattern regex;
        try {
            regex = Pattern.compile(node.get("regex").asText());
        } catch (PatternSyntaxException e) {
            throw new ConfigException(where + ".regex: not a valid regular expression: " + e.getDescription());
        }
        int groups = regex.matcher("").groupCount();
        if (groups != 1) {
            throw new ConfigException(where + ".regex: needs exactly one capture group (the key), has " + groups
                    + "; make the others (?:...)");
        }
        return new JobType.Key(regex, null);
    }

    /** Starts per second, e.g. 10 or 0.5; null when not given. */
    private static Double rate(JsonNode node, String where) {
        if (node == null || node.isNull()) return null;
        if (!node.isNumber()) throw new ConfigException(where + ": '" + node.asText() + "' is not a number of starts per second");
        double value = node.asDouble();
        if (!(value >= MIN_RATE && value <= MAX_RATE)) {
            throw new ConfigException(where + ": " + value + " is out of range (starts per second, "
                    + MIN_RATE + ".." + (long) MAX_RATE + ")");
        }
        return value;
    }

    private static JobType.Limits limits(JsonNode node, String where) {
        if (node == null || node.isNull()) return JobType.Limits.NONE;
        if (!node.isObject()) throw new ConfigException(where + ": expected a mapping (cpuSeconds, memory, openFiles, processes)");
        node.fieldNames().forEachRemaining(key -> {
            if (!LIMIT_KEYS.contains(key)) {
                throw new ConfigException(where + "." + key + ": unknown limit (known: " + String.join(", ", LIMIT_KEYS) + ")");
            }
        });
        Long cpu = node.has("cpuSeconds") ? (long) intValue(node.get("cpuSeconds"), where + ".cpuSeconds", 0, 1, Integer.MAX_VALUE) : null;
        Long memory = node.has("memory") ? size(node.get("memory"), where + ".memory") : null;
        Long files = node.has("openFiles") ? (long) intValue(node.get("openFiles"), where + ".openFiles", 0, 1, Integer.MAX_VALUE) : null;
        Long processes = node.has("processes") ? (long) intValue(node.get("processes"), where + ".processes", 0, 1, Integer.MAX_VALUE) : null;
        return new JobType.Limits(cpu, memory, files, processes);
    }

    /** {@code cgroup: {memoryMax: 512M, pidsMax: 64, cpuMax: 50%}}, any of them, or absent. */
    private static JobType.Cgroup cgroup(JsonNode node, String where) {
        if (node == null || node.isNull()) return JobType.Cgroup.NONE;
        if (!node.isObject()) throw new ConfigException(where + ": expected a mapping like {memoryMax: 512M, pidsMax: 64, cpuMax: 50%}");
        node.fieldNames().forEachRemaining(key -> {
            if (!CGROUP_KEYS.contains(key)) {
                throw new ConfigException(where + "." + key + ": unknown cgroup limit (known: memoryMax, pidsMax, cpuMax)");
            }
        });
        Long memory = null;
        if (node.hasNonNull("memoryMax")) {
            memory = size(node.get("memoryMax"), where + ".memoryMax");
            // Below a few pages the kernel OOM-kills the program before it has even started.
            if (memory < (1L << 20)) throw new ConfigException(where + ".memoryMax: " + node.get("memoryMax").asText() + " is below 1M");
        }
        Long pids = node.hasNonNull("pidsMax") ? (long) intValue(node.get("pidsMax"), where + ".pidsMax", 0, 1, 4_194_304) : null;
        Integer cpu = null;
        if (node.hasNonNull("cpuMax")) {
            Matcher percent = PERCENT.matcher(node.get("cpuMax").asText().trim());
            if (!node.get("cpuMax").isTextual() || !percent.matches()) {
                throw new ConfigException(where + ".cpuMax: '" + node.get("cpuMax").asText()
                        + "' is not a percentage of one CPU like 50% or 200% (two CPUs)");
            }
            cpu = Integer.parseInt(percent.group(1));
            if (cpu < 1 || cpu > 100_000) throw new ConfigException(where + ".cpuMax: " + cpu + "% is out of range 1%..100000%");
        }
        return new JobType.Cgroup(memory, pids, cpu);
    }

    /** {@code sandbox: {}} (all defaults), {@code sandbox: {network: true, writable: [/srv/thumbs]}}, or absent. */
    private static JobType.Sandbox sandbox(JsonNode node, String where) {
        if (node == null) return null;
        if (!node.isObject()) {
            throw new ConfigException(where + ": expected a mapping like {writable: [/srv/thumbs]} ({} for the defaults:"
                    + " no network, nothing writable but a private /tmp)");
        }
        node.fieldNames().forEachRemaining(key -> {
            if (!SANDBOX_KEYS.contains(key)) {
                throw new ConfigException(where + "." + key + ": unknown sandbox setting (known: "
                        + String.join(", ", SANDBOX_KEYS) + ")");
            }
        });
        boolean network = booleanValue(node.get("network"), where + ".network");
        List<Path> writable = new ArrayList<>();
        if (node.has("writable")) {
            for (String text : stringList(node.get("writable"), where + ".writable")) {
                writable.add(writablePath(text, where + ".writable"));
            }
        }
        return new JobType.Sandbox(network, writable);
    }

    private static Path writablePath(String text, String where) {
        Path path;
        try {
            path = Path.of(text);
        } catch (java.nio.file.InvalidPathException e) {
            throw new ConfigException(where + ": '" + text + "' is not a path");
        }
        if (!path.isAbsolute()) {
            throw new ConfigException(where + ": '" + text + "' is not an absolute path");
        }
        if (!path.normalize().equals(path)) {
            throw new ConfigException(where + ": '" + text + "' has '.' or '..' in it; write the directory itself");
        }
        if (path.getNameCount() == 0) {
            throw new ConfigException(where + ": '/' would make the whole host writable; list the directories the program writes");
        }
        return path;
    }

    private static FailureBudget halt(JsonNode node, String where) {
        if (node == null) return FailureBudget.NONE;
        FailureBudget budget;
        try {
            budget = FailureBudget.of(node);
        } catch (IllegalArgumentException e) {
            // The budget's messages start with the rule they are about: types.x.halt.failed: ...
            String message = e.getMessage();
            throw new ConfigException(where + (message.startsWith("expected") ? ": " : ".") + message);
        }
        if (budget.isNone()) {
            throw new ConfigException(where + ": empty; give failed, failedPercent with after, or inARow (or leave halt out)");
        }
        return budget;
    }

    private static long size(JsonNode node, String where) {
        try {
            return Sizes.parse(node.asText());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(where + ": '" + node.asText() + "' is not a size like 512MB or 2GiB");
        }
    }

    private static List<String> stringList(JsonNode node, String where) {
        if (node == null || !node.isArray()) {
            throw new ConfigException(where + ": expected a list of strings");
        }
        List<String> values = new ArrayList<>();
        for (JsonNode element : node) {
            if (!element.isValueNode() || element.isNull()) {
                throw new ConfigException(where + ": every element must be a string, got " + element);
            }
            values.add(element.asText());
        }
        return values;
    }

    private static int intValue(JsonNode node, String where, int defaultValue, int min, int max) {
        if (node == null || node.isNull()) return defaultValue;
        if (!node.canConvertToInt() || !node.isIntegralNumber()) {
            throw new ConfigException(where + ": '" + node.asText() + "' is not a whole number");
        }
        int value = node.asInt();
        if (value < min || value > max) {
            throw new ConfigException(where + ": " + value + " is out of range " + min + ".." + max);
        }
        return value;
    }

    private static boolean booleanValue(JsonNode node, String where) {
        if (node == null || node.isNull()) return false;
        if (!node.isBoolean()) throw new ConfigException(where + ": expected true or false, got " + node.asText());
        return node.asBoolean();
    }

    private static Duration duration(JsonNode node, String where, Duration defaultValue) {
        if (node == null || node.isNull()) return defaultValue;
        try {
            Duration value = Durations.parse(node.asText());
            if (value.isZero() || value.isNegative()) throw new IllegalArgumentException();
            return value;
        } catch (IllegalArgumentException e) {
            throw new ConfigException(where + ": '" + node.asText() + "' is not a duration like 500ms, 60s, 5m");
        }
    }

    public Optional<JobType> find(String name) {
        return Optional.ofNullable(types.get(name));
    }

    public Collection<JobType> all() {
        return types.values();
    }

    public Set<String> names() {
        return types.keySet();
    }
}
