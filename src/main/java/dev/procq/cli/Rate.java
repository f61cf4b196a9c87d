package dev.procq.cli;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.OptionalDouble;

/**
 * Jobs finished per second over the last {@link #WINDOW}, from the samples the client sees:
 * recent enough to follow a change of pace, long enough not to jump with every poll.
 */
final class Rate {
    static final Duration WINDOW = Duration.ofSeconds(30);
    /** Below this much observation a rate would be noise. */
    static final Duration MIN_SPAN = Duration.ofMillis(900);

    private record Sample(long nanos, long finished) {
    }

    private final Deque<Sample> samples = new ArrayDeque<>();

    void add(long nanos, long finished) {
        samples.addLast(new Sample(nanos, finished));
        while (samples.size() > 2 && nanos - samples.peekFirst().nanos() > WINDOW.toNanos()) samples.removeFirst();
    }

    OptionalDouble perSecond() {
        if (samples.size() < 2) return OptionalDouble.empty();
        Sample first = samples.peekFirst();
        Sample last = samples.peekLast();
        long span = last.nanos() - first.nanos();
        if (span < MIN_SPAN.toNanos()) return OptionalDouble.empty();
        return OptionalDouble.of((last.finished() - first.finished()) * 1e9 / span);
    }

    /** Time left for {@code remaining} jobs at the current rate; empty while the rate is unknown or zero. */
    java.util.Optional<Duration> eta(long remaining) {
        OptionalDouble rate = perSecond();
        if (rate.isEmpty() || rate.getAsDouble() <= 0) return java.util.Optional.empty();
        return java.util.Optional.of(Duration.ofMillis((long) (remaining / rate.getAsDouble() * 1000)));
    }
}
