package dev.procq.store;

/** How many RUNNING jobs of a type one worker holds now. */
public record TypeRunning(String type, long workerId, long running) {
}
