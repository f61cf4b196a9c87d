package dev.procq.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JobTypesTest {
    @Test
    void readsEverySettingOfAType() {
        JobTypes types = JobTypes.parse("""
                types:
                  thumbnail:
                    command: ["convert", "{target}", "-thumbnail", "256x256", "{target}.thumb.jpg"]
                    concurrency: 4
                    timeout: 60s
                    maxAttempts: 3
                    backoff: 500ms
                    targetPattern: '\\.jpe?g$'
                    env: {MAGICK_THREAD_LIMIT: "1"}
                    passEnv: [PATH]
                    workingDirectory: /tmp
                    limits: {cpuSeconds: 30, memory: 512MB, openFiles: 64, processes: 16}
                """, "test");
        JobType type = types.find("thumbnail").orElseThrow();
        assertThat(type.command()).containsExactly("convert", "{target}", "-thumbnail", "256x256", "{target}.thumb.jpg");
        assertThat(type.concurrency()).isEqualTo(4);
        assertThat(type.timeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(type.maxAttempts()).isEqualTo(3);
        assertThat(type.backoff()).isEqualTo(Duration.ofMillis(500));
        assertThat(type.targetPattern().matcher("a.jpeg").find()).isTrue();
        assertThat(type.env()).containsEntry("MAGICK_THREAD_LIMIT", "1");
        assertThat(type.passEnv()).containsExactly("PATH");
        assertThat(type.workingDirectory()).isEqualTo(Path.of("/tmp"));
        assertThat(type.limits()).isEqualTo(new JobType.Limits(30L, 512L << 20, 64L, 16L));
    }

    @Test
    void readsACgroupsLimitsAndLeavesThemUnsetByDefault() {
        JobTypes types = JobTypes.parse("""
                types:
                  capped:
                    command: [convert, '{target}']
                    cgroup: {memoryMax: 512M, pidsMax: 64, cpuMax: 150%}
                  plain:
                    command: [echo, '{target}']
                """, "test");
        assertThat(types.find("capped").orElseThrow().cgroup()).isEqualTo(new JobType.Cgroup(512L << 20, 64L, 150));
        assertThat(types.find("plain").orElseThrow().cgroup()).isEqualTo(JobType.Cgroup.NONE);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{memory: 1G}|types.t.cgroup.memory: unknown cgroup limit (known: memoryMax, pidsMax, cpuMax)",
            "{memoryMax: lots}|types.t.cgroup.memoryMax: 'lots' is not a size like 512MB or 2GiB",
            "{memoryMax: 4K}|types.t.cgroup.memoryMax: 4K is below 1M",
            "{pidsMax: 0}|types.t.cgroup.pidsMax: 0 is out of range 1..4194304",
            "{cpuMax: 0.5}|types.t.cgroup.cpuMax: '0.5' is not a percentage of one CPU like 50% or 200% (two CPUs)",
            "{cpuMax: 0%}|types.t.cgroup.cpuMax: 0% is out of range 1%..100000%",
            "512M|types.t.cgroup: expected a mapping like {memoryMax: 512M, pidsMax: 64, cpuMax: 50%}"})
    void refusesABadCgroupNamingTheSetting(String cgroup, String message) {
        assertThatThrownBy(() -> JobTypes.parse("types:\n  t:\n    command: [echo, '{target}']\n    cgroup: " + cgroup + "\n", "test"))
                .isInstanceOf(ConfigException.class).hasMessageContaining(message);
    }

    @Test
    void defaultsAreSmallAndSafe() {
        JobType type = JobTypes.parse("types:\n  echo:\n    command: [echo, '{target}']\n", "test").find("echo").orElseThrow();
        assertThat(type.concurrency()).isEqualTo(JobType.DEFAULT_CONCURRENCY);
        assertThat(type.maxAttempts()).isEqualTo(1);
        assertThat(type.timeout()).isNull();
        assertThat(type.allowDashTargets()).isFalse();
        assertThat(type.passEnv()).isEqualTo(JobType.DEFAULT_PASS_ENV);
        assertThat(type.globalConcurrency()).as("no cluster-wide limit unless asked").isNull();
    }

    @Test
    void aKeyComesFromTheTargetsCaptureGroupOrFromItsMeta() {
        JobTypes types = JobTypes.parse("""
                types:
                  check:
                    command: [curl, '{target}']
                    key: {regex: '^https?://([^/:]+)'}
                    keyConcurrency: 2
                    keyRate: 0.5
                    rate: 100
                  thumb:
                    command: [convert, '{target}']
                    key: '{meta.camera}'
                """, "test");
        JobType check = types.find("check").orElseThrow();
        assertThat(check.key().of("https://example.org:8443/health", null)).isEqualTo("example.org");
        assertThat(check.key().of("not a url", null)).as("no match: no key").isNull();
        assertThat(check.keyConcurrency()).isEqualTo(2);
        assertThat(check.keyRate()).isEqualTo(0.5);
        assertThat(check.rate()).isEqualTo(100.0);
        JobType thumb = types.find("thumb").orElseThrow();
        assertThat(thumb.key().of("a.jpg", java.util.Map.of("camera", "X100"))).isEqualTo("X100");
        assertThat(thumb.key().of("a.jpg", null)).isNull();
    }

    @Test
    void aClusterWideLimitIsReadBesideTheOnePerWorker() {
        JobType type = JobTypes.parse("types:\n  nas:\n    command: [convert, '{target}']\n    concurrency: 4\n"
                + "    globalConcurrency: 10\n", "test").find("nas").orElseThrow();
        assertThat(type.concurrency()).isEqualTo(4);
        assertThat(type.globalConcurrency()).isEqualTo(10);
    }

    @Test
    void aFailureBudgetTakesAnyOfItsRules() {
        JobTypes types = JobTypes.parse("""
                types:
                  counted: {command: [echo, '{target}'], halt: {failed: 100}}
                  share: {command: [echo, '{target}'], halt: {failedPercent: 20, after: 50}}
                  streak: {command: [echo, '{target}'], halt: {inARow: 10}}
                  all: {command: [echo, '{target}'], halt: {failed: 1000, failedPercent: 2.5, after: 400, inARow: 10}}
                  none: {command: [echo, '{target}']}
                """, "test");
        assertThat(types.find("counted").orElseThrow().halt()).isEqualTo(new FailureBudget(100L, null, null, null));
        assertThat(types.find("share").orElseThrow().halt()).isEqualTo(new FailureBudget(null, 20.0, 50L, null));
        assertThat(types.find("streak").orElseThrow().halt()).isEqualTo(new FailureBudget(null, null, null, 10L));
        assertThat(types.find("all").orElseThrow().halt().text()).isEqualTo("failed=1000,failedPercent=2.5,after=400,inARow=10");
        assertThat(types.find("none").orElseThrow().halt()).isEqualTo(FailureBudget.NONE);
    }

    @Test
    void theTextFormOfABudgetReadsBackAndIsStrict() {
        assertThat(FailureBudget.parse("failed=100")).isEqualTo(new FailureBudget(100L, null, null, null));
        assertThat(FailureBudget.parse(" inARow=3 , failedPercent=20,after=50")).isEqualTo(new FailureBudget(null, 20.0, 50L, 3L));
        assertThat(FailureBudget.parse("none")).isEqualTo(FailureBudget.NONE);
        assertThat(FailureBudget.parse(FailureBudget.parse("failed=5,inARow=2").text())).isEqualTo(new FailureBudget(5L, null, null, 2L));
        assertThatThrownBy(() -> FailureBudget.parse("failed=1,failed=2")).hasMessageContaining("given twice");
        assertThatThrownBy(() -> FailureBudget.parse("failed")).hasMessageContaining("is not RULE=NUMBER");
        assertThatThrownBy(() -> FailureBudget.parse("failed=many")).hasMessageContaining("not a whole number");
        assertThatThrownBy(() -> FailureBudget.parse("")).hasMessageContaining("is not RULE=NUMBER");
        assertThatThrownBy(() -> FailureBudget.parse("failedPercent=0,after=3")).hasMessageContaining("above 0");
    }

    @Test
    void theShippedJobTypesFileIsValid() {
        JobTypes types = JobTypes.load(Path.of("jobtypes.yaml"));
        assertThat(types.names()).contains("echo", "sleep", "exit");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "no types key        | other: 1                                                     | expected a top-level 'types:'",
            "empty types         | 'types: {}'                                                  | is empty",
            "missing command     | 'types: {a: {concurrency: 2}}'                               | types.a.command: expected a list",
            "no target           | 'types: {a: {command: [echo, hi]}}'                          | no element contains {target}",
            "program from target | 'types: {a: {command: [\"{target}\"]}}'                     | cannot come from a target",
            "unknown placeholder | 'types: {a: {command: [echo, \"{targte}\"]}}'                | unknown placeholder {targte}",
            "unknown setting     | 'types: {a: {command: [echo, \"{target}\"], concurency: 2}}' | types.a.concurency: unknown setting",
            "bad concurrency     | 'types: {a: {command: [echo, \"{target}\"], concurrency: 0}}' | types.a.concurrency: 0 is out of range",
            "bad global limit    | 'types: {a: {command: [echo, \"{target}\"], globalConcurrency: 0}}' | types.a.globalConcurrency: 0 is out of range",
            "two key groups      | 'types: {a: {command: [echo, \"{target}\"], key: {regex: \"(a)(b)\"}}}' | types.a.key.regex: needs exactly one capture group",
            "key limit, no key   | 'types: {a: {command: [echo, \"{target}\"], keyConcurrency: 2}}' | need a key",
            "bad rate            | 'types: {a: {command: [echo, \"{target}\"], rate: fast}}' | types.a.rate: 'fast' is not a number",
            "bad timeout         | 'types: {a: {command: [echo, \"{target}\"], timeout: soon}}' | types.a.timeout: 'soon' is not a duration",
            "bad pattern         | 'types: {a: {command: [echo, \"{target}\"], targetPattern: \"(\"}}' | types.a.targetPattern: not a valid regular expression",
            "secret passEnv      | 'types: {a: {command: [echo, \"{target}\"], passEnv: [PROCQ_DATABASE_PASSWORD]}}' | never passed to children",
            "bad memory          | 'types: {a: {command: [echo, \"{target}\"], limits: {memory: lots}}}' | types.a.limits.memory: 'lots' is not a size",
            "bad name            | 'types: {\"a b\": {command: [echo, \"{target}\"]}}'          | type names are",
            "setting twice       | 'types: {a: {command: [echo, \"{target}\"], concurrency: 2, concurrency: 3}}' | Duplicate field 'concurrency'",
            "type twice          | 'types: {a: {command: [echo, \"{target}\"]}, a: {command: [cat, \"{target}\"]}}' | Duplicate field 'a'",
            "halt not a mapping  | 'types: {a: {command: [echo, \"{target}\"], halt: 100}}'   | types.a.halt: expected a mapping",
            "halt empty          | 'types: {a: {command: [echo, \"{target}\"], halt: {}}}'    | types.a.halt: empty",
            "halt unknown rule   | 'types: {a: {command: [echo, \"{target}\"], halt: {fails: 3}}}' | types.a.halt.fails: unknown rule",
            "halt zero           | 'types: {a: {command: [echo, \"{target}\"], halt: {failed: 0}}}' | types.a.halt.failed: 0 is out of range",
            "halt fraction       | 'types: {a: {command: [echo, \"{target}\"], halt: {inARow: 2.5}}}' | types.a.halt.inARow: '2.5' is not a whole number",
            "halt percent alone  | 'types: {a: {command: [echo, \"{target}\"], halt: {failedPercent: 20}}}' | types.a.halt.failedPercent needs after",
            "halt after alone    | 'types: {a: {command: [echo, \"{target}\"], halt: {after: 20}}}' | types.a.halt.after only goes with failedPercent",
            "halt over 100%      | 'types: {a: {command: [echo, \"{target}\"], halt: {failedPercent: 120, after: 5}}}' | must be above 0 and at most 100",
    })
    void aBadEntryStopsStartUpNamingTheEntry(String name, String yaml, String message) {
        assertThatThrownBy(() -> JobTypes.parse(yaml, "jobtypes.yaml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("jobtypes.yaml: ")
                .hasMessageContaining(message);
    }

    @Test
    void readsExitCodeRulesWithRanges() {
        JobType type = JobTypes.parse("""
                types:
                  fetch:
                    command: [curl, "{target}"]
                    exitCodes:
                      ok: [0, 1]
                      failNow: [3, 6, "64-78"]
                      retry: [7, 28, "35 - 36"]
                      retryOnTimeout: false
                """, "test").find("fetch").orElseThrow();
        ExitCodeRules rules = type.exitCodes();
        assertThat(rules.ok().contains(1)).isTrue();
        assertThat(rules.ok().contains(2)).isFalse();
        assertThat(rules.failNow().contains(64)).isTrue();
        assertThat(rules.failNow().contains(78)).isTrue();
        assertThat(rules.failNow().contains(79)).isFalse();
        assertThat(rules.retry().contains(36)).isTrue();
        assertThat(rules.retryOnTimeout()).isFalse();
        assertThat(rules.retryOnSignal()).isTrue();
        // Adjacent codes merge into one range; a lone code stays a number.
        assertThat(rules.ok().asList()).containsExactly("0-1");
        assertThat(rules.failNow().asList()).containsExactly(3, 6, "64-78");
    }

    @Test
    void withoutExitCodesOnlyZeroIsOkAndEveryFailureRetries() {
        JobType type = JobTypes.parse("types:\n  echo:\n    command: [echo, '{target}']\n", "test").find("echo").orElseThrow();
        assertThat(type.exitCodes()).isEqualTo(ExitCodeRules.DEFAULT);
        assertThat(type.exitCodes().asMap()).containsEntry("ok", List.of(0)).containsEntry("failNow", List.of())
                .containsEntry("retry", null).containsEntry("retryOnTimeout", true).containsEntry("retryOnSignal", true);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "not a mapping       | 'exitCodes: [0]'                              | types.a.exitCodes: expected a mapping",
            "unknown key         | 'exitCodes: {fail: [3]}'                      | types.a.exitCodes.fail: unknown setting (known: ok, failNow",
            "not a list          | 'exitCodes: {ok: 1}'                          | types.a.exitCodes.ok: expected a list of exit codes",
            "not a code          | 'exitCodes: {failNow: [3, six]}'              | types.a.exitCodes.failNow[1]: \"six\" is not an exit code",
            "negative            | 'exitCodes: {failNow: [-1]}'                  | types.a.exitCodes.failNow[0]: -1 is out of range 0..255",
            "too big             | 'exitCodes: {retry: [256]}'                   | types.a.exitCodes.retry[0]: 256 is out of range 0..255",
            "range too big       | 'exitCodes: {retry: [\"250-300\"]}'             | types.a.exitCodes.retry[0]: 300 is out of range",
            "backwards range     | 'exitCodes: {retry: [\"78-64\"]}'               | types.a.exitCodes.retry[0]: range 78-64 runs backwards",
            "fraction            | 'exitCodes: {ok: [0.5]}'                      | types.a.exitCodes.ok[0]: 0.5 is not an exit code",
            "empty ok            | 'exitCodes: {ok: []}'                         | types.a.exitCodes.ok: lists no code",
            "ok and failNow      | 'exitCodes: {ok: [0, 1], failNow: [1]}'       | types.a.exitCodes: exit code 1 is in both ok and failNow",
            "default ok          | 'exitCodes: {failNow: [0]}'                   | exit code 0 is in both ok (the default [0]) and failNow",
            "ranges overlap      | 'exitCodes: {failNow: [\"64-78\"], retry: [70]}' | exit code 70 is in both failNow and retry",
            "ok and retry        | 'exitCodes: {retry: [\"0-7\"]}'                 | exit code 0 is in both ok (the default [0]) and retry",
            "flag not boolean    | 'exitCodes: {retryOnTimeout: yes please}'     | types.a.exitCodes.retryOnTimeout: expected true or false",
    })
    void aBadExitCodesEntryNamesTheTypeAndTheKey(String name, String exitCodes, String message) {
        String yaml = "types: {a: {command: [echo, \"{target}\"], " + exitCodes + "}}";
        assertThatThrownBy(() -> JobTypes.parse(yaml, "jobtypes.yaml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("jobtypes.yaml: ")
                .hasMessageContaining(message);
    }

    @Test
    void readsASandbox() {
        JobTypes types = JobTypes.parse("""
                types:
                  thumbnail:
                    command: [convert, "{target}", out.jpg]
                    sandbox: {writable: [/srv/thumbs, /var/cache/thumbs/]}
                  fetch:
                    command: [curl, "{target}"]
                    sandbox: {network: true}
                  closed:
                    command: [cat, "{target}"]
                    sandbox: {}
                  plain:
                    command: [cat, "{target}"]
                """, "test");
        assertThat(types.find("thumbnail").orElseThrow().sandbox())
                .isEqualTo(new JobType.Sandbox(false, List.of(Path.of("/srv/thumbs"), Path.of("/var/cache/thumbs"))));
        assertThat(types.find("fetch").orElseThrow().sandbox()).isEqualTo(new JobType.Sandbox(true, List.of()));
        assertThat(types.find("closed").orElseThrow().sandbox()).isEqualTo(new JobType.Sandbox(false, List.of()));
        assertThat(types.find("plain").orElseThrow().sandbox()).isNull();
    }

    @Test
    void theReadmesSandboxedThumbnailTypeIsValid() throws java.io.IOException {
        String readme = java.nio.file.Files.readString(Path.of("README.md"));
        java.util.regex.Matcher block = java.util.regex.Pattern
                .compile("(?s)\n  ```yaml\n(  types:\n.*?)\n  ```\n").matcher(readme);
        assertThat(block.find()).as("the README's indented yaml block of a sandboxed type").isTrue();
        String yaml = block.group(1).replaceAll("(?m)^  ", "");
        JobType type = JobTypes.parse(yaml, "README.md").find("thumbnail").orElseThrow();
        assertThat(type.sandbox()).isEqualTo(new JobType.Sandbox(false, List.of(Path.of("/srv/thumbs"))));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "not a mapping       | 'sandbox: true'                      | types.a.sandbox: expected a mapping",
            "unknown key         | 'sandbox: {writeable: [/srv]}'       | types.a.sandbox.writeable: unknown sandbox setting (known: ",
            "relative path       | 'sandbox: {writable: [srv/thumbs]}'  | types.a.sandbox.writable: 'srv/thumbs' is not an absolute path",
            "dot-dot             | 'sandbox: {writable: [/srv/../etc]}' | types.a.sandbox.writable: '/srv/../etc' has '.' or '..'",
            "root                | 'sandbox: {writable: [/]}'           | would make the whole host writable",
            "not a list          | 'sandbox: {writable: /srv}'          | types.a.sandbox.writable: expected a list",
            "network not boolean | 'sandbox: {network: yes please}'    | types.a.sandbox.network: expected true or false",
    })
    void aBadSandboxStopsStartUpNamingTheSetting(String name, String sandbox, String message) {
        String yaml = "types:\n  a:\n    command: [cat, \"{target}\"]\n    " + sandbox + "\n";
        assertThatThrownBy(() -> JobTypes.parse(yaml, "jobtypes.yaml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("jobtypes.yaml: ")
                .hasMessageContaining(message);
    }

    @Test
    void aMissingFileSaysWhichVariableToSet() {
        assertThatThrownBy(() -> JobTypes.load(Path.of("/nonexistent/jobtypes.yaml")))
                .hasMessageContaining("does not exist").hasMessageContaining("PROCQ_JOB_TYPES");
    }

    @Test
    void aTypeMayNameTheUserAndGroupItsChildrenRunAs() {
        JobTypes types = JobTypes.parse("""
                types:
                  named:
                    command: ["convert", "{target}"]
                    user: nobody
                    group: nogroup
                  numeric:
                    command: ["convert", "{target}"]
                    user: 65534
                  own:
                    command: ["convert", "{target}"]
                """, "test");
        assertThat(types.find("named").orElseThrow()).extracting(JobType::user, JobType::group)
                .containsExactly("nobody", "nogroup");
        assertThat(types.find("numeric").orElseThrow()).extracting(JobType::user, JobType::group)
                .containsExactly("65534", null);
        assertThat(types.find("own").orElseThrow().user()).isNull();
    }

    @Test
    void aGroupWithoutAUserOrAMalformedNameIsRefused() {
        assertThatThrownBy(() -> JobTypes.parse("""
                types:
                  half:
                    command: ["convert", "{target}"]
                    group: nogroup
                """, "test"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("test: types.half.group: needs 'user' too");
        assertThatThrownBy(() -> JobTypes.parse("""
                types:
                  odd:
                    command: ["convert", "{target}"]
                    user: "nobody; rm -rf /"
                """, "test"))
                .hasMessage("test: types.odd.user: 'nobody; rm -rf /' is not a user or group name or id");
    }
}
