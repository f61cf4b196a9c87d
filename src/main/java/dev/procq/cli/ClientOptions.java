package dev.procq.cli;

import dev.procq.config.Durations;
import dev.procq.config.Settings;
import java.time.Duration;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * Where the client commands send their requests: --url, else PROCQ_URL, else the local default.
 * The token comes only from PROCQ_TOKEN, so it never shows in the process list.
 */
public final class ClientOptions {
    @Option(names = "--url", paramLabel = "URL",
            description = "the procq API to talk to (default: $PROCQ_URL, else " + Settings.DEFAULT_URL + "); "
                    + "the bearer token comes from $PROCQ_TOKEN")
    String url;

    ApiClient client(Shell shell) {
        Settings settings = new Settings(shell.env());
        if (url != null) Settings.requireHttpUrl("--url", url);
        return new ApiClient(url != null ? url : settings.clientUrl(), settings.clientToken());
    }

    /** Durations on the command line as everywhere else in procq: 500ms, 10s, 2m. */
    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            Duration duration = Durations.parse(value);
            if (duration.isNegative() || duration.isZero()) throw new IllegalArgumentException("must be longer than zero");
            return duration;
        }
    }

    static long positiveId(CommandLine commandLine, long id) {
        if (id <= 0) throw new CommandLine.ParameterException(commandLine, "BATCH_ID must be a positive number, got " + id);
        return id;
    }

    /** A failure budget in its text form (failed=100,inARow=10 or none); bad usage otherwise. */
    static dev.procq.config.FailureBudget budget(CommandLine commandLine, String option, String text) {
        try {
            return dev.procq.config.FailureBudget.parse(text);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(commandLine, option + ": " + e.getMessage());
        }
    }
}
