package dev.procq.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.pool.ResourceUsage;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.worker.RecordedAttempts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** procq submit, status, cancel, retry, pause and resume run in-process against a live API and worker. */
class CliTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              exit:
                command: ["sh", "-c", "echo \\"exiting with $1\\"; exit \\"$1\\"", "exit", "{target}"]
                concurrency: 8
                targetPattern: '^[0-9]+$'
              sleep:
                command: ["sleep", "{target}"]
                concurrency: 4
              noisy:
                command: ["sh", "-c", 'printf ''\\033]0;owned\\007 %s'' "$1"; exit 1', "noisy", "{target}"]
              flaky:
                command: ["sh", "-c", "if [ -e \\"$1\\" ]; then exit 0; fi; touch \\"$1\\"; exit 1", "flaky", "{target}"]
                concurrency: 2
            """;
    /** One progress line as printed when stderr is not a terminal. */
    static final Pattern PROGRESS = Pattern.compile(
            "^\\[[#x.-]{24}] +\\d+\\.\\d%  OK \\d+  FAILED \\d+  RUNNING \\d+  PENDING \\d+.*/s.*$", Pattern.MULTILINE);

    static Procq procq;

    @TempDir
    Path temp;

    @BeforeAll
    static void start() throws Exception {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_CONCURRENCY", "8", "PROCQ_WORKER_METRICS_PORT", "off"))
                .startApi();
        procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    static CliRun.Builder cli() {
        return CliRun.with(Map.of("PROCQ_URL", procq.baseUrl()));
    }

    static long idOf(CliRun run) {
        assertThat(run.out().lines().findFirst()).as(run.toString()).get().matches(line -> line.matches("\\d+"));
        return Long.parseLong(run.out().lines().findFirst().orElseThrow());
    }

    @Test
    void submitWaitShowsProgressAndExitsZeroWhenEveryTargetIsOk() {
        List<String> args = new ArrayList<>(List.of("submit", "--type", "sleep", "--wait", "--progress-every", "100ms"));
        args.addAll(Collections.nCopies(8, "0.4"));
        CliRun run = cli().run(args.toArray(String[]::new));

        assertThat(run.exit()).as(run.toString()).isZero();
        long id = idOf(run);
        List<String> lines = PROGRESS.matcher(run.err()).results().map(m -> m.group()).toList();
        assertThat(lines).as(run.err()).hasSizeGreaterThanOrEqualTo(2);
        assertThat(lines.get(0)).doesNotContain("100.0%").contains("ETA");
        assertThat(lines.get(lines.size() - 1)).contains("100.0%").contains("OK 8  FAILED 0  RUNNING 0  PENDING 0");
        assertThat(run.err()).contains("batch " + id + " DONE").contains("8 OK, 0 FAILED");
        JsonNode batch = procq.batch(id);
        assertThat(batch.get("counts").get("OK").asLong()).isEqualTo(8);
    }

    @Test
    void submitWaitExitsOneWhenATargetFailed() {
        CliRun run = cli().run("submit", "--type", "exit", "--wait", "0", "3", "0");

        assertThat(run.exit()).as(run.toString()).isEqualTo(1);
        long id = idOf(run);
        assertThat(run.err()).contains("OK 2  FAILED 1").contains("batch " + id + " DONE")
                .contains("procq status " + id).contains("procq retry " + id);
    }

    @Test
    void submitWaitOnATerminalRedrawsOneLineInPlace() {
        CliRun run = cli().stderrIsTerminal().env("COLUMNS", "200")
                .run("submit", "--type", "sleep", "--wait", "0.3", "0.3", "0.3", "0.3", "0.3");

        assertThat(run.exit()).as(run.toString()).isZero();
        String progress = run.err().substring(0, run.err().indexOf('\n'));
        // every redraw went back to the start of the same line and cleared what was left of it
        List<String> redraws = Arrays.stream(progress.split("\r")).skip(1).toList();
        assertThat(redraws).hasSizeGreaterThanOrEqualTo(2).allMatch(redraw -> redraw.endsWith("\033[K"));
        assertThat(redraws.get(redraws.size() - 1)).startsWith("[########################] 100.0%  OK 5");
        assertThat(run.err().substring(run.err().indexOf('\n') + 1)).startsWith("batch ");
    }

    @Test
    void aRedrawnLineNeverWrapsOnANarrowTerminal() {
        CliRun run = cli().stderrIsTerminal().run("submit", "--type", "sleep", "--wait", "0.3", "0.3", "0.3");

        String progress = run.err().substring(0, run.err().indexOf('\n'));
        assertThat(Arrays.stream(progress.split("\r")).skip(1).map(redraw -> redraw.replace("\033[K", "")))
                .isNotEmpty().allMatch(redraw -> redraw.length() <= 79);
    }

    @Test
    void submitReadsTargetsFromAFileOneLineEach() throws Exception {
        Path file = temp.resolve("targets.txt");
        List<String> targets = new ArrayList<>();
        for (int i = 0; i < 60; i++) targets.add(i % 20 == 0 ? "" : "0");
        Files.write(file, targets, StandardCharsets.UTF_8);

        CliRun run = cli().run("submit", "--type", "exit", "--file", file.toString(), "--wait");

        assertThat(run.exit()).as(run.toString()).isZero();
        JsonNode batch = procq.batch(idOf(run));
        assertThat(batch.get("total").asLong()).isEqualTo(57);
        assertThat(batch.get("counts").get("OK").asLong()).isEqualTo(57);
    }

    @Test
    void submitReadsStdinWhenItIsNotATerminal() {
        CliRun run = cli().stdin("0\n0\n0\n").run("submit", "--type", "exit");

        assertThat(run.exit()).as(run.toString()).isZero();
        assertThat(procq.batch(idOf(run)).get("total").asLong()).isEqualTo(3);
    }

    @Test
    void fileDashMeansStdinAndFiftyThousandLinesStream() {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 50_000; i++) lines.append(i).append('\n');
        CliRun run = cli().stdin(lines.toString()).stdinIsTerminal()
                .run("submit", "--type", "exit", "--file", "-", "--priority", "1000");

        assertThat(run.exit()).as(run.toString()).isZero();
        long id = idOf(run);
        assertThat(procq.batch(id).get("total").asLong()).isEqualTo(50_000);
        // Done with it: cancel so it does not keep the worker busy for the other tests.
        assertThat(cli().run("cancel", Long.toString(id)).exit()).isZero();
    }

    @Test
    void noTargetsWithStdinOnATerminalIsBadUsage() {
        CliRun run = cli().stdinIsTerminal().run("submit", "--type", "exit");

        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).contains("no targets");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "submit --type exit --file nowhere.txt",
            "submit --type exit --file x.txt 0",
            "submit --type exit --scan photos:*.jpg 0",
            "submit --type exit --scan photos 0",
            "submit --type exit --scan photos",
            "submit --type exit --priority 5000 0",
            "submit 0",
            "submit --type exit --wait --progress-every soon 0",
            "status abc",
            "status 0",
            "cancel",
            "retry -- -3",
            "frobnicate",
    })
    void badUsageExitsTwo(String commandLine) {
        CliRun run = cli().run(commandLine.split(" "));

        assertThat(run.exit()).as(run.toString()).isEqualTo(2);
        assertThat(run.err()).isNotBlank();
    }

    @Test
    void theApisErrorIsPrintedAndExitsOne() {
        CliRun unknownType = cli().run("submit", "--type", "nope", "0");
        assertThat(unknownType.exit()).isEqualTo(1);
        assertThat(unknownType.err()).contains("procq: unknown type 'nope'");

        CliRun badTarget = cli().stdin("0\n1\nnot-a-number\n").run("submit", "--type", "exit");
        assertThat(badTarget.exit()).isEqualTo(1);
        assertThat(badTarget.err()).contains("line 3");

        CliRun noBatch = cli().run("status", "999999");
        assertThat(noBatch.exit()).isEqualTo(1);
        assertThat(noBatch.err()).contains("batch 999999 not found");
    }

    static byte[] millionLines() {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 1_000_000; i++) lines.append(i).append('\n');
        return lines.toString().getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void anUnknownTypeIsRefusedBeforeAMillionLinesAreSent() {
        CliRun run = cli().stdin(millionLines()).run("submit", "--type", "nope");

        assertThat(run.exit()).as(run.toString()).isEqualTo(1);
        assertThat(run.err()).contains("unknown type 'nope'");
    }

    @Test
    void aRepeatedSubmissionWithItsIdempotencyKeyGetsTheFirstBatchWithoutSendingItAgain() throws Exception {
        Path file = temp.resolve("million.txt");
        Files.write(file, millionLines());
        CliRun first = cli().run("submit", "--type", "exit", "--priority", "1000", "--idempotency-key", "cli-once", "0");
        long id = idOf(first);

        CliRun again = cli().run("submit", "--type", "exit", "--idempotency-key", "cli-once", "--file", file.toString());

        assertThat(again.exit()).as(again.toString()).isZero();
        assertThat(idOf(again)).isEqualTo(id);
        assertThat(procq.batch(id).get("total").asLong()).isEqualTo(1);
    }

    @Test
    void statusPrintsCountsAndTheFailedTargetsWithTheirOutput() {
        long id = idOf(cli().run("submit", "--type", "exit", "--wait", "0", "0", "4"));

        CliRun run = cli().run("status", Long.toString(id), "--output");

        assertThat(run.exit()).as(run.toString()).isZero();
        assertThat(run.out()).contains("batch " + id + " (type exit): DONE")
                .contains("OK 2  FAILED 1  RUNNING 0  PENDING 0")
                .contains("failed targets:")
                .containsPattern("job \\d+  4  exit code 4")
                .contains("      decided by default: exit 4")
                .contains("| exiting with 4")
                .contains("procq retry " + id);

        CliRun json = cli().run("status", "--json", Long.toString(id));
        assertThat(json.exit()).isZero();
        JsonNode parsed = new Procq.Response(200, json.out(), Map.of()).json();
        assertThat(parsed.get("id").asLong()).isEqualTo(id);
        assertThat(parsed.get("counts").get("FAILED").asLong()).isEqualTo(1);

        CliRun list = cli().run("status");
        assertThat(list.exit()).isZero();
        assertThat(list.out()).containsPattern("(?m)^ +" + id + "  exit +DONE +3 +2 +1 +0 +0 +0 ");
    }

    @Test
    void statusOutputShowsTheLastAttemptsCpuAndPeakMemoryWhenKnown() throws Exception {
        // An API that also knows "costed", a type no worker here runs: its attempts are ended with the
        // costs this test chooses, through the worker's own write path.
        String costedTypes = RecordedAttempts.withCostedType(TYPES);
        try (Procq costs = new Procq(postgres, costedTypes, Map.of("PROCQ_WORKER_METRICS_PORT", "off")).startApi()) {
            RecordedAttempts attempts = RecordedAttempts.of(costs, costedTypes);
            long id = costs.submit("costed", List.of("heavy.bin", "unmeasured.bin"));
            attempts.finishNext("costed", RecordedAttempts.exited(3, new ResourceUsage(12_345, 3_999, 4_198)));
            attempts.finishNext("costed", RecordedAttempts.exited(4, null));

            CliRun run = CliRun.with(Map.of("PROCQ_URL", costs.baseUrl())).run("status", Long.toString(id), "--output");

            assertThat(run.exit()).as(run.toString()).isZero();
            List<String> lines = run.out().lines().toList();
            int heavy = indexOfLineContaining(lines, "heavy.bin  exit code 3");
            int unmeasured = indexOfLineContaining(lines, "unmeasured.bin  exit code 4");
            assertThat(lines.subList(heavy + 1, unmeasured))
                    .containsExactly("      decided by default: exit 3", "      | output of a child that exited with 3",
                            "      CPU 12 ms user / 3 ms sys, peak 4.1 MiB");
            // Unknown: the rule and the output tail and nothing more, neither a 0 nor an empty line.
            assertThat(lines.get(unmeasured + 1)).isEqualTo("      decided by default: exit 4");
            assertThat(lines.get(unmeasured + 2)).isEqualTo("      | output of a child that exited with 4");
            assertThat(lines.get(unmeasured + 3)).startsWith("run them again:");

            CliRun withoutOutput = CliRun.with(Map.of("PROCQ_URL", costs.baseUrl())).run("status", Long.toString(id));
            assertThat(withoutOutput.out()).doesNotContain("CPU");
        }
    }

    private static int indexOfLineContaining(List<String> lines, String text) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(text)) return i;
        }
        throw new AssertionError("no line contains \"" + text + "\" in:\n" + String.join("\n", lines));
    }

    @Test
    void targetsAndOutputArePrintedWithoutTheirTerminalControls() {
        CliRun run = cli().run("submit", "--type", "noisy", "--wait", "\u202Egpj.exe");
        long id = idOf(run);

        CliRun status = cli().run("status", Long.toString(id), "--output");

        assertThat(status.out()).contains("\\u202egpj.exe").contains("| \\x1b]0;owned\\x07 \\u202egpj.exe")
                .doesNotContain("\033").doesNotContain("\u202E");
    }

    @Test
    void cancelStopsTheRunningTargetsAndCancelsThePendingOnes() {
        long id = idOf(cli().run("submit", "--type", "sleep", "30", "30", "30", "30", "30", "30"));
        await().atMost(Duration.ofSeconds(10)).until(() -> procq.batch(id).get("counts").get("RUNNING").asLong() == 4);

        CliRun run = cli().run("cancel", Long.toString(id));

        assertThat(run.exit()).as(run.toString()).isZero();
        assertThat(run.out()).contains("batch " + id + " CANCELLED");
        await().atMost(Duration.ofSeconds(15)).until(() -> procq.batch(id).get("counts").get("CANCELLED").asLong() == 6);
        assertThat(procq.batch(id).get("counts").get("RUNNING").asLong()).isZero();
    }

    @Test
    void retryRunsTheFailedTargetsAgainAndWaits() {
        String marker = temp.resolve("flaky-marker").toString();
        CliRun first = cli().run("submit", "--type", "flaky", "--wait", marker);
        assertThat(first.exit()).as(first.toString()).isEqualTo(1);
        long id = idOf(first);

        CliRun retry = cli().run("retry", Long.toString(id), "--wait");

        assertThat(retry.exit()).as(retry.toString()).isZero();
        assertThat(retry.out()).contains("batch " + id + ": 1 FAILED targets are PENDING again");
        assertThat(retry.err()).contains("1 OK, 0 FAILED");

        CliRun nothing = cli().run("retry", Long.toString(id));
        assertThat(nothing.exit()).isZero();
        assertThat(nothing.out()).contains("has no FAILED targets");
    }

    @Test
    void submitWaitAndStatusExitOneAndSayWhyWhenTheBatchHalts() {
        // One slot per target in flight at most 8; 40 failing targets, a budget of 3.
        List<String> args = new ArrayList<>(List.of("submit", "--type", "exit", "--halt", "failed=3", "--wait"));
        args.addAll(Collections.nCopies(40, "4"));
        CliRun run = cli().run(args.toArray(String[]::new));

        assertThat(run.exit()).as(run.toString()).isEqualTo(1);
        long id = idOf(run);
        assertThat(run.err()).contains("batch " + id + " HALTED")
                .containsPattern("batch " + id + " halted: \\d+ targets failed \\(budget: failed 3\\); its \\d+ PENDING targets wait")
                .contains("procq resume " + id);

        CliRun status = cli().run("status", Long.toString(id));
        assertThat(status.exit()).as(status.toString()).isEqualTo(1);
        assertThat(status.out()).contains("batch " + id + " (type exit): HALTED")
                .containsPattern("halted: \\d+ targets failed \\(budget: failed 3\\)");

        await().atMost(Duration.ofSeconds(10)).until(() -> procq.batch(id).get("counts").get("RUNNING").asLong() == 0);
        CliRun resume = cli().run("resume", Long.toString(id), "--budget", "none", "--wait");
        assertThat(resume.exit()).as(resume.toString()).isEqualTo(1);
        assertThat(resume.out()).contains("batch " + id + " RUNNING");
        assertThat(resume.err()).contains("batch " + id + " DONE").contains("0 OK, 40 FAILED");
        assertThat(cli().run("status", Long.toString(id)).exit()).isZero();

        CliRun late = cli().run("resume", Long.toString(id));
        assertThat(late.exit()).isEqualTo(1);
        assertThat(late.err()).contains("is DONE: nothing to resume");
    }

    @Test
    void pauseHoldsTheBatchAndResumeLetsItFinish() {
        long id = idOf(cli().run("submit", "--type", "sleep", "0.5", "0.5", "0.5", "0.5", "0.5", "0.5", "0.5", "0.5", "0.5", "0.5"));
        CliRun pause = cli().run("pause", Long.toString(id));
        assertThat(pause.exit()).as(pause.toString()).isZero();
        assertThat(pause.out()).contains("batch " + id + " PAUSED").contains("procq resume " + id);
        CliRun status = cli().run("status", Long.toString(id));
        assertThat(status.exit()).isZero();
        assertThat(status.out()).contains("PAUSED").contains("paused: nothing more starts until procq resume " + id);

        await().atMost(Duration.ofSeconds(10)).until(() -> procq.batch(id).get("counts").get("RUNNING").asLong() == 0);
        assertThat(procq.batch(id).get("counts").get("PENDING").asLong()).isGreaterThan(0);
        CliRun resume = cli().run("resume", Long.toString(id), "--wait");
        assertThat(resume.exit()).as(resume.toString()).isZero();
        assertThat(resume.err()).contains("10 OK, 0 FAILED");
    }

    @Test
    void aBadBudgetIsBadUsage() {
        CliRun submit = cli().run("submit", "--type", "exit", "--halt", "failed=0", "1");
        assertThat(submit.exit()).isEqualTo(2);
        assertThat(submit.err()).contains("--halt: failed: 0 is out of range");
        CliRun resume = cli().run("resume", "1", "--budget", "failedPercent=20");
        assertThat(resume.exit()).isEqualTo(2);
        assertThat(resume.err()).contains("--budget: failedPercent needs after");
    }

    @Test
    void theTokenComesFromProcqTokenAndTheUrlOptionBeatsProcqUrl() throws Exception {
        try (Procq guarded = new Procq(postgres, TYPES, Map.of("PROCQ_API_TOKENS", "s3cret")).startApi()) {
            CliRun without = CliRun.with(Map.of("PROCQ_URL", guarded.baseUrl())).run("status");
            assertThat(without.exit()).isEqualTo(1);
            assertThat(without.err()).contains("missing bearer token");

            CliRun with = CliRun.with(Map.of("PROCQ_URL", "http://127.0.0.1:9/", "PROCQ_TOKEN", "s3cret"))
                    .run("status", "--url", guarded.baseUrl());
            assertThat(with.exit()).as(with.toString()).isZero();
            assertThat(with.out()).contains("ID").contains("STATE");
        }
        CliRun unreachable = CliRun.with(Map.of("PROCQ_URL", "http://127.0.0.1:9")).run("status", "1");
        assertThat(unreachable.exit()).isEqualTo(1);
        assertThat(unreachable.err()).contains("cannot reach http://127.0.0.1:9");

        CliRun notAUrl = CliRun.with(Map.of("PROCQ_URL", "127.0.0.1:8080")).run("status", "1");
        assertThat(notAUrl.exit()).isEqualTo(2);
        assertThat(notAUrl.err()).contains("PROCQ_URL=127.0.0.1:8080 is not an http(s) URL");
    }

    @ParameterizedTest
    @ValueSource(strings = {"submit", "status", "cancel", "retry", "pause", "resume"})
    void everyClientCommandHasHelp(String command) {
        CliRun run = cli().run(command, "--help");

        assertThat(run.exit()).isZero();
        assertThat(run.out()).contains("Usage: procq " + command).contains("--url").contains("Exit codes:");
    }

    @Test
    void theTopLevelHelpListsTheClientCommands() {
        CliRun run = cli().run("--help");

        assertThat(run.exit()).isZero();
        assertThat(Arrays.stream(new String[] {"submit", "status", "cancel", "retry", "pause", "resume"}))
                .allMatch(command -> run.out().contains("  " + command + " "));
    }
}
