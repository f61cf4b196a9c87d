package dev.procq.schedule;

import java.util.Arrays;
import java.util.List;

/** What the ticks missed while no scheduler ran become (procq.schedule.catch_up). */
public enum CatchUpPolicy {
    /** nothing: the schedule goes on from the next tick to come */
    SKIP_MISSED("skip-missed"),
    /** one batch for all of them (recorded with the last missed tick's time), then on as usual */
    RUN_ONCE("run-once");

    private final String wire;

    CatchUpPolicy(String wire) {
        this.wire = wire;
    }

    public String wire() {
        return wire;
    }

    public static List<String> names() {
        return Arrays.stream(values()).map(CatchUpPolicy::wire).toList();
    }

    public static CatchUpPolicy of(String wire) {
        return Arrays.stream(values()).filter(p -> p.wire.equals(wire)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("catchUp '" + wire + "' is not one of " + String.join(", ", names())));
    }
}
