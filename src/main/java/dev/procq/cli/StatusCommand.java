package dev.procq.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** procq status: one batch's progress and failures, or the recent batches. */
@Command(name = "status", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Print a batch's progress: counts, percent, rate, time left, and its failed targets with why.",
                "Without BATCH_ID: the most recent batches, newest first."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:printed", "1:the batch is HALTED (its failure budget ran out), no such batch, or the API refused"
                + " or could not be reached", "2:bad usage"})
public final class StatusCommand implements Callable<Integer> {
    static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    @ParentCommand
    ClientRoot root;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "BATCH_ID", arity = "0..1", description = "the batch (as printed by procq submit)")
    Long batchId;

    @Option(names = "--json", description = "print the API's JSON as it is")
    boolean json;

    @Option(names = "--failures", paramLabel = "N", defaultValue = "10",
            description = "list at most N failed targets (default: ${DEFAULT-VALUE}; 0 for none)")
    int failures;

    @Option(names = "--output", description = "with each failed target, the exit-code rule that decided its last"
            + " attempt, the tail of that attempt's output, and its CPU time and peak memory when the worker measured them")
    boolean output;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "20",
            description = "without BATCH_ID: how many recent batches (default: ${DEFAULT-VALUE})")
    int limit;

    @Mixin
    ClientOptions clientOptions;

    @Override
    public Integer call() {
        Shell shell = root.shell();
        if (failures < 0 || failures > 1000) throw new CommandLine.ParameterException(spec.commandLine(), "--failures must be 0..1000");
        if (limit < 1 || limit > 1000) throw new CommandLine.ParameterException(spec.commandLine(), "--limit must be 1..1000");
        ApiClient api = clientOptions.client(shell);
        PrintWriter out = shell.out();
        if (batchId == null) {
            String page = api.getRaw("/api/v1/batches?limit=" + limit);
            if (json) {
                out.println(page);
            } else {
                printList(ApiClient.read(page, JsonNode.class), out);
            }
            return ExitCodes.OK;
        }
        long id = ClientOptions.positiveId(spec.commandLine(), batchId);
        String raw = api.getRaw("/api/v1/batches/" + id);
        if (json) {
            out.println(raw);
            return ExitCodes.OK;
        }
        BatchStatus batch = ApiClient.read(raw, BatchStatus.class);
        printBatch(batch, out);
        if (failures > 0 && batch.counts().failed() > 0) printFailures(api, batch, out);
        return batch.isHalted() ? ExitCodes.FAILED : ExitCodes.OK;
    }

    static void printBatch(BatchStatus batch, PrintWriter out) {
        out.println("batch " + batch.id() + " (type " + SafeText.of(batch.type()) + "): " + batch.state());
        OptionalDouble rate = rateSinceStart(batch);
        long remaining = batch.counts().pending() + batch.counts().running();
        // A paused or halted batch goes nowhere until it is resumed: no time left to promise.
        boolean held = batch.isHalted() || "PAUSED".equals(batch.state());
        Optional<Duration> eta = !held && rate.isPresent() && rate.getAsDouble() > 0
                ? Optional.of(Duration.ofMillis((long) (remaining / rate.getAsDouble() * 1000))) : Optional.empty();
        out.println(ProgressLine.render(batch, rate, eta));
        StringBuilder times = new StringBuilder("created ").append(time(batch.createdAt()));
        if (batch.startedAt() != null) times.append(", started ").append(time(batch.startedAt()));
        if (batch.finishedAt() != null) {
            times.append(", finished ").append(time(batch.finishedAt()));
            if (batch.startedAt() != null) {
                times.append(" (ran ").append(ProgressLine.duration(Duration.between(batch.startedAt(), batch.finishedAt()))).append(')');
            }
        }
        out.println(times);
        if (batch.isHalted()) {
            out.println("halted: " + SafeText.of(String.valueOf(batch.haltReason())) + "; nothing more starts until"
                    + " procq resume " + batch.id() + " (or procq cancel " + batch.id() + ")");
        } else if ("PAUSED".equals(batch.state())) {
            out.println("paused: nothing more starts until procq resume " + batch.id());
        }
    }

    /** Jobs finished per second between the first claim and the end (or now). */
    static OptionalDouble rateSinceStart(BatchStatus batch) {
        if (batch.startedAt() == null) return OptionalDouble.empty();
        OffsetDateTime end = batch.finishedAt() != null ? batch.finishedAt() : OffsetDateTime.now();
        double seconds = Duration.between(batch.startedAt(), end).toMillis() / 1000.0;
        if (seconds <= 0) return OptionalDouble.empty();
        return OptionalDouble.of((batch.counts().ok() + batch.counts().failed()) / seconds);
    }

    private void printFailures(ApiClient api, BatchStatus batch, PrintWriter out) {
        JsonNode page = api.getJson("/api/v1/batches/" + batch.id() + "/jobs?state=FAILED&limit=" + failures);
        out.println("failed targets" + (batch.counts().failed() > failures ? " (first " + failures + " of " + batch.counts().failed() + ")" : "") + ":");
        for (JsonNode job : page.path("items")) {
            out.println("  job " + job.path("id").asLong() + "  " + SafeText.of(job.path("target").asText())
                    + "  " + SafeText.of(job.path("error").asText("")));
            if (output) {
                JsonNode attempts = api.getJson("/api/v1/jobs/" + job.path("id").asLong()).path("attempts");
                if (attempts.size() > 0) {
                    JsonNode last = attempts.get(attempts.size() - 1);
                    if (last.path("decidedBy").isTextual()) {
                        out.println("      decided by " + SafeText.of(last.path("decidedBy").asText()));
                    }
                    String tail = last.path("outputTail").asText("");
                    for (String line : tail.split("\n", -1)) {
                        if (!line.isEmpty()) out.println("      | " + SafeText.of(line));
                    }
                    AttemptCost.describe(last).ifPresent(cost -> out.println("      " + cost));
                }
            }
        }
        out.println("run them again: procq retry " + batch.id());
    }

    private static void printList(JsonNode page, PrintWriter out) {
        String format = "%8s  %-16s  %-9s  %9s  %9s  %9s  %9s  %9s  %9s  %s%n";
        out.printf(format, "ID", "TYPE", "STATE", "TOTAL", "OK", "FAILED", "RUNNING", "PENDING", "CANCELLED", "CREATED");
        for (JsonNode item : page.path("items")) {
            BatchStatus batch = ApiClient.JSON.convertValue(item, BatchStatus.class);
            BatchStatus.Counts c = batch.counts();
            out.printf(format, batch.id(), SafeText.of(batch.type()), batch.state(), batch.total(), c.ok(), c.failed(),
                    c.running(), c.pending(), c.cancelled(), time(batch.createdAt()));
        }
    }

    private static String time(OffsetDateTime time) {
        return time == null ? "-" : time.atZoneSameInstant(java.time.ZoneId.systemDefault()).format(TIME);
    }
}
