package dev.procq.schedule;

import java.util.Arrays;
import java.util.List;

/** What a tick does while an earlier batch of its schedule is not DONE or CANCELLED (procq.schedule.overlap). */
public enum OverlapPolicy {
    /** submit nothing for this tick */
    SKIP("skip"),
    /** the tick waits (one at most; later ones are skipped) and is submitted once no earlier batch is left */
    QUEUE_ONE("queue-one"),
    /** cancel the earlier batches, then submit */
    CANCEL_PREVIOUS("cancel-previous"),
    /** submit anyway: batches of the schedule run side by side */
    ALLOW("allow");

    private final String wire;

    OverlapPolicy(String wire) {
        this.wire = wire;
    }

    public String wire() {
        return wire;
    }

    public static List<String> names() {
        return Arrays.stream(values()).map(OverlapPolicy::wire).toList();
    }

    public static OverlapPolicy of(String wire) {
        return Arrays.stream(values()).filter(p -> p.wire.equals(wire)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("overlap '" + wire + "' is not one of " + String.join(", ", names())));
    }
}
