import type { SessionConnection } from '../db/session-connection';
import type { LeaderLease } from './leader-lease';

/** First key of every Sluice lease; the migration lock uses the one-key form, which never overlaps. */
const LEASE_NAMESPACE = 7_263_010;

/**
 * A lease held as a PostgreSQL session advisory lock on a connection of its own. PostgreSQL
 * frees it the moment the holder's session ends (a crash, a kill, a network loss the server
 * notices), so a standby takes it on its next attempt, within one interval. `acquire` on the
 * holder checks that its session is still the one that took the lock.
 */
export function createPgLease(session: SessionConnection, name: string): LeaderLease {
  let heldIn: number | null = null;
  return {
    async acquire() {
      if (heldIn !== null && heldIn === session.generation) {
        await session.query('select 1');
        // The query may have replaced a lost session, and the lock with it.
        if (heldIn === session.generation) return true;
      }
      heldIn = null;
      const [row] = await session.query<{ locked: boolean }>(
        'select pg_try_advisory_lock($1, hashtext($2)) as locked',
        [LEASE_NAMESPACE, name],
      );
      if (row?.locked === true) heldIn = session.generation;
      return heldIn !== null;
    },
    async release() {
      if (heldIn === session.generation) {
        await session.query('select pg_advisory_unlock($1, hashtext($2))', [LEASE_NAMESPACE, name]);
      }
      heldIn = null;
    },
  };
}
