package dev.procq.pool;

/** The spawn helper cannot run on this host or from this build; the message says why. */
final class SpawnHelperUnavailable extends Exception {
    SpawnHelperUnavailable(String message) {
        super(message);
    }

    SpawnHelperUnavailable(String message, Throwable cause) {
        super(message, cause);
    }
}
