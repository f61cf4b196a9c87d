package dev.procq.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procq.config.FailureBudget;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** procq schedule: recurring batches over /api/v1/schedules. */
@Command(name = "schedule", mixinStandardHelpOptions = true,
        description = {"Recurring batches: a cron expression in a time zone and a batch to submit at each tick.",
                "Every procq api, worker and dev process runs the schedules; each tick becomes one batch."},
        subcommands = {ScheduleCommand.Create.class, ScheduleCommand.ListAll.class, ScheduleCommand.Show.class,
                ScheduleCommand.Pause.class, ScheduleCommand.Resume.class, ScheduleCommand.Delete.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "1:the API refused or could not be reached", "2:bad usage"})
public final class ScheduleCommand implements Runnable {
    @ParentCommand
    ClientRoot root;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a subcommand: create, list, show, pause, resume, delete");
    }

    /** What every subcommand takes: --json and the API's options. */
    abstract static class Sub implements Callable<Integer> {
        @ParentCommand
        ScheduleCommand parent;

        @Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--json", description = "print the API's JSON as it is")
        boolean json;

        @Mixin
        ClientOptions clientOptions;

        Shell shell() {
            return parent.root.shell();
        }

        ApiClient client() {
            return clientOptions.client(shell());
        }

        /** Prints the answer: as it is with --json, else the schedule's lines. */
        Integer print(String answer) {
            if (json) {
                shell().out().println(answer);
            } else {
                describe(shell(), ApiClient.read(answer, JsonNode.class), true);
            }
            return ExitCodes.OK;
        }
    }

    /** The API path of a schedule named by id or name. */
    static String path(String schedule) {
        return "/api/v1/schedules/" + java.net.URLEncoder.encode(schedule, java.nio.charset.StandardCharsets.UTF_8);
    }

    @Command(name = "create", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Create a schedule. The batch is checked as procq submit's would be, and refused whole if",
                    "anything is wrong. Examples:",
                    "  procq schedule create health --cron '0 */5 * * * *' --type healthcheck https://a/ https://b/",
                    "  procq schedule create nightly --cron '0 2 * * *' --zone Europe/Berlin --type thumbnail --scan photos:'**/*.jpg'",
                    "  procq schedule create fleet --cron '*/5 * * * *' --type healthcheck --target-file lists:endpoints.txt"})
    static final class Create extends Sub {
        @Parameters(index = "0", paramLabel = "NAME", description = "a letter, then letters, digits, '.', '_' or '-'")
        String name;

        @Parameters(index = "1..*", paramLabel = "TARGET", description = "the targets of each batch")
        List<String> targets = new ArrayList<>();

        @Option(names = "--cron", required = true, paramLabel = "EXPR",
                description = "six fields with seconds first (sec min hour day month weekday, e.g. '0 */5 * * * *'), "
                        + "or Unix cron's five (e.g. '*/5 * * * *')")
        String cron;

        @Option(names = "--zone", paramLabel = "ZONE", description = "IANA time zone the cron is read in (default: UTC)")
        String zone;

        @Option(names = "--type", required = true, paramLabel = "TYPE", description = "the job type")
        String type;

        @Option(names = "--scan", paramLabel = "ROOT:GLOB", description = "scan a root of the server's PROCQ_SCAN_ROOTS at each tick")
        String scan;

        @Option(names = "--target-file", paramLabel = "ROOT:PATH",
                description = "read the targets, one per line, at each tick from a file below a root of the server's PROCQ_SCAN_ROOTS")
        String targetFile;

        @Option(names = "--overlap", paramLabel = "POLICY",
                description = "while an earlier batch runs: skip (default), queue-one, cancel-previous or allow")
        String overlap;

        @Option(names = "--catch-up", paramLabel = "POLICY",
                description = "ticks missed while no procq process ran: skip-missed (default) or run-once")
        String catchUp;

        @Option(names = "--priority", paramLabel = "N", description = "the batches' priority (-1000..1000, lower first)")
        Integer priority;

        @Option(names = "--halt", paramLabel = "BUDGET", description = "the batches' failure budget, e.g. failed=100, or none")
        String halt;

        @Option(names = "--paused", description = "create it paused")
        boolean paused;

        @Override
        public Integer call() {
            int sources = (targets.isEmpty() ? 0 : 1) + (scan == null ? 0 : 1) + (targetFile == null ? 0 : 1);
            if (sources != 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "give the targets, --scan or --target-file (one of them)");
            }
            ObjectNode batch = ApiClient.JSON.createObjectNode().put("type", type);
            if (scan != null) batch.set("scan", rootAnd("--scan", scan, "root", "glob"));
            else if (targetFile != null) batch.set("file", rootAnd("--target-file", targetFile, "root", "path"));
            else targets.forEach(batch.putArray("targets")::add);
            if (priority != null) batch.put("priority", priority);
            if (halt != null) {
                FailureBudget budget = ClientOptions.budget(spec.commandLine(), "--halt", halt);
                batch.set("halt", ApiClient.budgetJson(budget));
            }
            ObjectNode body = ApiClient.JSON.createObjectNode().put("name", name).put("cron", cron);
            if (zone != null) body.put("timeZone", zone);
            if (overlap != null) body.put("overlap", overlap);
            if (catchUp != null) body.put("catchUp", catchUp);
            if (paused) body.put("paused", true);
            body.set("batch", batch);
            return print(client().sendRaw("POST", "/api/v1/schedules", body));
        }

        private ObjectNode rootAnd(String option, String value, String rootField, String restField) {
            int colon = value.indexOf(':');
            if (colon <= 0 || colon == value.length() - 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), option + " takes ROOT:" + restField.toUpperCase()
                        + ", got '" + value + "'");
            }
            return ApiClient.JSON.createObjectNode().put(rootField, value.substring(0, colon)).put(restField, value.substring(colon + 1));
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the schedules: next run, policies, last batches.")
    static final class ListAll extends Sub {
        @Override
        public Integer call() {
            String answer = client().getRaw("/api/v1/schedules");
            if (json) {
                shell().out().println(answer);
                return ExitCodes.OK;
            }
            JsonNode schedules = ApiClient.read(answer, JsonNode.class);
            if (schedules.isEmpty()) shell().out().println("no schedules");
            for (JsonNode schedule : schedules) describe(shell(), schedule, false);
            return ExitCodes.OK;
        }
    }

    /** A subcommand on one schedule, by id or name. */
    abstract static class OnOne extends Sub {
        @Parameters(paramLabel = "SCHEDULE", description = "its id or name")
        String schedule;
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show a schedule, its batch and its last batches.")
    static final class Show extends OnOne {
        @Override
        public Integer call() {
            return print(client().getRaw(path(schedule)));
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true,
            description = "Pause a schedule: no tick submits anything until it is resumed (its running batches go on).")
    static final class Pause extends OnOne {
        @Override
        public Integer call() {
            return print(client().sendRaw("PATCH", path(schedule), ApiClient.JSON.createObjectNode().put("paused", true)));
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true,
            description = "Resume a paused schedule from its next tick to come (the ticks of the pause are not caught up).")
    static final class Resume extends OnOne {
        @Override
        public Integer call() {
            return print(client().sendRaw("PATCH", path(schedule), ApiClient.JSON.createObjectNode().put("paused", false)));
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a schedule; its batches stay.")
    static final class Delete extends OnOne {
        @Override
        public Integer call() {
            client().sendRaw("DELETE", path(schedule), null);
            if (!json) shell().out().println("schedule " + SafeText.of(schedule) + " deleted");
            return ExitCodes.OK;
        }
    }

    /** A schedule in a few lines: name and cron, policies, next run, last batches; with its batch body when {@code full}. */
    static void describe(Shell shell, JsonNode schedule, boolean full) {
        var out = shell.out();
        out.println("schedule " + schedule.path("id").asLong() + " " + SafeText.of(schedule.path("name").asText())
                + (schedule.path("paused").asBoolean() ? " (PAUSED)" : "") + ": '" + SafeText.of(schedule.path("cron").asText())
                + "' in " + SafeText.of(schedule.path("timeZone").asText()) + ", type " + SafeText.of(schedule.path("type").asText())
                + ", " + SafeText.of(schedule.path("source").asText()));
        out.println("  overlap " + schedule.path("overlap").asText() + ", catch-up " + schedule.path("catchUp").asText()
                + ", next run " + (schedule.path("nextRunAt").isNull() ? "-" : schedule.path("nextRunAt").asText())
                + (schedule.path("queuedTickAt").isNull() ? "" : ", tick of " + schedule.path("queuedTickAt").asText() + " waiting"));
        if (!schedule.path("lastError").isNull()) out.println("  last tick failed: " + SafeText.of(schedule.path("lastError").asText()));
        for (JsonNode batch : schedule.path("lastBatches")) {
            out.println("  batch " + batch.path("id").asLong() + "  tick " + batch.path("tickAt").asText() + "  "
                    + batch.path("state").asText() + "  " + batch.path("ok").asLong() + "/" + batch.path("total").asLong() + " OK"
                    + (batch.path("failed").asLong() > 0 ? ", " + batch.path("failed").asLong() + " FAILED" : ""));
        }
        if (full && schedule.has("batch")) out.println("  batch body: " + SafeText.of(schedule.path("batch").toString()));
    }
}
