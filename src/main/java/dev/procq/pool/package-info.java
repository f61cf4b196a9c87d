/**
 * Child processes: spawn, capture, time out, kill the tree.
 *
 * <p>{@link dev.procq.pool.ChildLauncher} starts one external program per target, each in its own
 * session and process group, with exactly the environment it is given, and reports how it ended
 * as a {@link dev.procq.pool.ChildResult}. {@link dev.procq.pool.ProcessGroups#killTagged} ends
 * what a crashed worker left behind.
 *
 * <p>This package knows nothing of SQL, HTTP or job queues and imports no other procq package.
 * It needs Linux with util-linux ({@code setsid}, {@code setpriv}, {@code prlimit}) and procps
 * ({@code kill}).
 */
package dev.procq.pool;
