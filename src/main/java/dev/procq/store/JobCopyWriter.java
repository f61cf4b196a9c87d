package dev.procq.store;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.jdbi.v3.core.Handle;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * Streams job rows of one batch into procq.job with COPY, in the caller's transaction.
 * Rows are buffered in a small byte buffer and flushed as it fills, so a million targets
 * never sit in memory at once.
 */
public final class JobCopyWriter implements AutoCloseable {
    private static final int FLUSH_BYTES = 256 * 1024;
    private static final String COPY_SQL =
            "COPY procq.job (batch_id, type, priority, max_attempts, target, meta, key) FROM STDIN";

    private final CopyIn copy;
    private final String rowPrefix;
    private final StringBuilder pending = new StringBuilder(FLUSH_BYTES + 8192);
    private boolean finished;

    /**
     * @param timeout the COPY's statement timeout, for this transaction only: the COPY lasts as
     *     long as the client's upload, which the sessions' own timeout would cut short
     */
    public JobCopyWriter(Handle handle, long batchId, String type, int priority, int maxAttempts, Duration timeout)
            throws SQLException {
        handle.createQuery("SELECT set_config('statement_timeout', :millis, true)")
                .bind("millis", Long.toString(timeout.toMillis())).mapTo(String.class).one();
        Connection connection = handle.getConnection();
        PGConnection pg = connection.unwrap(PGConnection.class);
        this.copy = pg.getCopyAPI().copyIn(COPY_SQL);
        this.rowPrefix = batchId + "\t" + escape(type) + "\t" + priority + "\t" + maxAttempts + "\t";
    }

    /** Adds one job; {@code metaJson} and {@code key} (procq.job.key, for per-key limits) may be null. */
    public void add(String target, String metaJson, String key) throws SQLException {
        pending.append(rowPrefix);
        appendEscaped(pending, target);
        pending.append('\t');
        appendNullable(metaJson);
        pending.append('\t');
        appendNullable(key);
        pending.append('\n');
        if (pending.length() >= FLUSH_BYTES) {
            flush();
        }
    }

    private void appendNullable(String value) {
        if (value == null) {
            pending.append("\\N");
        } else {
            appendEscaped(pending, value);
        }
    }

    /** Ends the COPY; the rows become visible when the caller's transaction commits. */
    public long finish() throws SQLException {
        flush();
        finished = true;
        return copy.endCopy();
    }

    private void flush() throws SQLException {
        if (pending.length() == 0) return;
        byte[] bytes = pending.toString().getBytes(StandardCharsets.UTF_8);
        copy.writeToCopy(bytes, 0, bytes.length);
        pending.setLength(0);
    }

    /** Abandons the COPY, e.g. on a bad target; the caller then rolls back. */
    @Override
    public void close() {
        if (!finished && copy.isActive()) {
            try {
                copy.cancelCopy();
            } catch (SQLException ignored) {
                // the transaction is being rolled back anyway
            }
        }
    }

    private static boolean needsEscape(char c) {
        return c == '\\' || c == '\t' || c == '\n' || c == '\r';
    }

    private static String escape(String value) {
        StringBuilder out = new StringBuilder(value.length() + 8);
        appendEscaped(out, value);
        return out.toString();
    }

    /** COPY text format: backslash, tab, newline and carriage return are escaped. */
    private static void appendEscaped(StringBuilder out, String value) {
        int first = 0;
        while (first < value.length() && !needsEscape(value.charAt(first))) first++;
        if (first == value.length()) {
            out.append(value); // the usual target: copied whole
            return;
        }
        out.append(value, 0, first);
        for (int i = first; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '\t' -> out.append("\\t");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                default -> out.append(c);
            }
        }
    }
}
