package dev.procq.store;

import dev.procq.store.JobDao.FinishedOrClaimed;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.ColonPrefixSqlParser;
import org.jdbi.v3.core.statement.ParsedSql;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * A worker's round trip, {@link JobDao#FINISH_IF_RUNNING_AND_CLAIM}, run as one JDBC prepared
 * statement on a connection of the pool. The claim loop runs it every few jobs, and through a
 * SqlObject method it cost the worker more than everything else it does per job: in a JFR of B2
 * (10,000 /bin/true at 8) 249 of the worker's 391 samples were in that call, nearly all of them
 * in Jdbi resolving argument factories, qualifiers and the row mapper anew for each call. The SQL
 * is the same text, with its named parameters parsed once by Jdbi's own parser; PgJDBC keeps the
 * statement prepared on each connection as before.
 */
public final class ClaimRoundTrip {
    private static final ParsedSql SQL = new ColonPrefixSqlParser().parse(JobDao.FINISH_IF_RUNNING_AND_CLAIM, null);

    private final Jdbi jdbi;
    private final long workerId;
    private final long leaseMillis;
    private final int scanLimit;

    /**
     * @param scanLimit how many waiting jobs a claim of a type with per-key limits reads, and keys it visits
     */
    public ClaimRoundTrip(Jdbi jdbi, long workerId, long leaseMillis, int scanLimit) {
        this.jdbi = jdbi;
        this.workerId = workerId;
        this.leaseMillis = leaseMillis;
        this.scanLimit = scanLimit;
    }

    /**
     * Writes {@code results} and claims, per type in the order of {@code claimTypes}, at most its
     * {@code claimSlots}, and {@code claimTotal} in all. Rows as {@link FinishedOrClaimed} says.
     */
    public List<FinishedOrClaimed> run(List<AttemptResult> results, String[] claimTypes, Integer[] claimSlots,
                                       int claimTotal) {
        try (Handle handle = jdbi.open()) {
            return run(handle.getConnection(), results, claimTypes, claimSlots, claimTotal);
        } catch (SQLException e) {
            throw new UnableToExecuteStatementException(e, null);
        }
    }

    /** The same on a connection of the caller's (ClaimPlanTest: inside a transaction of its own). */
    List<FinishedOrClaimed> run(Connection connection, List<AttemptResult> results, String[] claimTypes,
                                Integer[] claimSlots, int claimTotal) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(SQL.getSql())) {
            Map<String, Object> values = values(connection, results, claimTypes, claimSlots, claimTotal);
            List<String> names = SQL.getParameters().getParameterNames();
            for (int i = 0; i < names.size(); i++) {
                Object value = values.get(names.get(i));
                if (value == null) throw new IllegalStateException("no value for :" + names.get(i));
                statement.setObject(i + 1, value);
            }
            try (ResultSet rows = statement.executeQuery()) {
                List<FinishedOrClaimed> answer = new ArrayList<>();
                while (rows.next()) answer.add(row(rows));
                return answer;
            }
        }
    }

    private Map<String, Object> values(Connection connection, List<AttemptResult> results, String[] claimTypes,
                                       Integer[] claimSlots, int claimTotal) throws SQLException {
        int n = results.size();
        Long[] ids = new Long[n];
        Integer[] attempts = new Integer[n];
        String[] states = new String[n];
        String[] outcomes = new String[n];
        Integer[] exitCodes = new Integer[n];
        Integer[] signals = new Integer[n];
        String[] errors = new String[n];
        String[] tails = new String[n];
        Long[] durations = new Long[n];
        Long[] delays = new Long[n];
        Boolean[] refunds = new Boolean[n];
        Long[] cpuUserMs = new Long[n];
        Long[] cpuSystemMs = new Long[n];
        Long[] maxRssKb = new Long[n];
        String[] decidedBy = new String[n];
        Long[] memoryPeakBytes = new Long[n];
        for (int i = 0; i < n; i++) {
            AttemptResult r = results.get(i);
            ids[i] = r.jobId();
            attempts[i] = r.attempt();
            states[i] = r.next().name();
            outcomes[i] = r.outcome().name();
            exitCodes[i] = r.exitCode();
            signals[i] = r.signal();
            errors[i] = r.error();
            tails[i] = stripNul(r.outputTail());
            durations[i] = r.duration().toMillis();
            delays[i] = r.retryDelay().toMillis();
            refunds[i] = r.refundAttempt();
            cpuUserMs[i] = r.cpuUserMs();
            cpuSystemMs[i] = r.cpuSystemMs();
            maxRssKb[i] = r.maxRssKb();
            decidedBy[i] = r.decidedBy();
            memoryPeakBytes[i] = r.memoryPeakBytes();
        }
        Map<String, Object> values = new HashMap<>();
        values.put("worker", workerId);
        values.put("claimTypes", connection.createArrayOf("text", claimTypes));
        values.put("claimSlots", connection.createArrayOf("int4", claimSlots));
        values.put("claimTotal", claimTotal);
        values.put("scanLimit", scanLimit);
        values.put("leaseMillis", leaseMillis);
        values.put("ids", connection.createArrayOf("int8", ids));
        values.put("attempts", connection.createArrayOf("int4", attempts));
        values.put("states", connection.createArrayOf("text", states));
        values.put("outcomes", connection.createArrayOf("text", outcomes));
        values.put("exitCodes", connection.createArrayOf("int4", exitCodes));
        values.put("signals", connection.createArrayOf("int4", signals));
        values.put("errors", connection.createArrayOf("text", errors));
        values.put("tails", connection.createArrayOf("text", tails));
        values.put("durationsMs", connection.createArrayOf("int8", durations));
        values.put("retryDelaysMs", connection.createArrayOf("int8", delays));
        values.put("refunds", connection.createArrayOf("bool", refunds));
        values.put("cpuUserMs", connection.createArrayOf("int8", cpuUserMs));
        values.put("cpuSystemMs", connection.createArrayOf("int8", cpuSystemMs));
        values.put("maxRssKb", connection.createArrayOf("int8", maxRssKb));
        values.put("decidedBy", connection.createArrayOf("text", decidedBy));
        values.put("memoryPeakBytes", connection.createArrayOf("int8", memoryPeakBytes));
        return values;
    }

    private static FinishedOrClaimed row(ResultSet rows) throws SQLException {
        return new FinishedOrClaimed(rows.getBoolean("claim"), rows.getLong("id"),
                rows.getObject("batch_id", Long.class), rows.getString("type"), rows.getString("target"),
                rows.getString("meta"), rows.getObject("attempt", Integer.class),
                rows.getObject("max_attempts", Integer.class), rows.getObject("created_at", OffsetDateTime.class),
                rows.getObject("started_at", OffsetDateTime.class), rows.getObject("held_by_global", Integer.class),
                rows.getObject("held_by_rate", Integer.class), rows.getObject("held_by_key", Integer.class),
                rows.getObject("retry_at", OffsetDateTime.class));
    }

    /** PostgreSQL text cannot hold NUL; a child's output may. */
    private static String stripNul(String text) {
        return text == null || text.indexOf('\0') < 0 ? text : text.replace("\0", "\\0");
    }
}
