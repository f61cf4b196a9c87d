package dev.procq.store;

import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/**
 * Session-level advisory locks: "one of the workers at a time" without a table. Attach both
 * calls to the same Handle: the lock belongs to the connection that took it.
 */
public interface AdvisoryLockDao {
    @SqlQuery("SELECT pg_try_advisory_lock(:key)")
    boolean tryLock(@Bind("key") long key);

    @SqlQuery("SELECT pg_advisory_unlock(:key)")
    boolean unlock(@Bind("key") long key);
}
