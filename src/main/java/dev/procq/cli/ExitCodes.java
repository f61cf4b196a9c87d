package dev.procq.cli;

/** The exit codes of every procq command, the client's and the servers'. */
public final class ExitCodes {
    public static final int OK = 0;
    /** The work failed: a target FAILED, the server refused. */
    public static final int FAILED = 1;
    /** Bad usage or configuration. */
    public static final int USAGE = 2;

    private ExitCodes() {
    }
}
