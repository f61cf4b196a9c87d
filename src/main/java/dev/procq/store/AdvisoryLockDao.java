package dev.procq.store;

import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/**
 * Transaction-level advisory locks: "one of the workers at a time" without a table. The lock
 * ends with the transaction that took it, so none is ever left on a connection: a session-level
 * lock outlives its statement, and behind a transaction-mode pooler the server session holding
 * it goes to another client, whose unlock then lands elsewhere.
 */
public interface AdvisoryLockDao {
    /** Call inside a transaction; the lock is held until it commits or rolls back. */
    @SqlQuery("SELECT pg_try_advisory_xact_lock(:key)")
    boolean tryLockForTransaction(@Bind("key") long key);
}
