package dev.procq.store;

import com.zaxxer.hikari.SQLExceptionOverride;
import java.sql.SQLException;

/**
 * Drops a pooled connection whose server refuses writes. After a failover a connection can find
 * itself on a server in recovery (a proxy or a virtual IP that moved, a URL naming one host that
 * is now a standby, an old primary set read-only before its demotion); every statement procq
 * runs there fails with SQLSTATE 25006 (read_only_sql_transaction, "cannot execute ... in a
 * read-only transaction" or "... during recovery"). HikariCP keeps such a connection by default,
 * since the error says nothing about the socket; evicted, the next checkout opens a new connection,
 * which pgjdbc places on the primary when the URL names several hosts. Other errors are left to
 * HikariCP's own judgement (it evicts on SQLSTATE class 08 and on server shutdown).
 */
final class ReadOnlyServerEviction implements SQLExceptionOverride {
    static final String READ_ONLY_SQL_TRANSACTION = "25006";

    // HikariCP names its answer Override, hence the qualified annotation.
    @java.lang.Override
    public Override adjudicate(SQLException e) {
        return READ_ONLY_SQL_TRANSACTION.equals(e.getSQLState()) ? Override.MUST_EVICT : Override.CONTINUE_EVICT;
    }
}
