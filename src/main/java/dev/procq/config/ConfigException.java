package dev.procq.config;

/** A setting or the job-types file is wrong; the message names the bad variable or entry and its value. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
