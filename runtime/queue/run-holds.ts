import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import type { RunStatus } from '../db/schema';
import type { SessionConnection } from '../db/session-connection';

/** First key of the per-run advisory locks; leases use another namespace. */
const RUN_HOLD_NAMESPACE = 7_263_011;

/**
 * How often a worker probes its session. A session lost meanwhile (a PostgreSQL restart, a
 * terminated backend) is reopened by the next probe, which takes back the holds of the runs
 * still in hand: a live worker's hold can be missing for up to this long.
 */
export const HOLD_RETAKE_MS = 5000;

/**
 * How long a running run's hold may be missing before the reconciler counts its worker as
 * lost: one re-take interval, plus the reconnect (bounded at 2 s) and the re-locking, with room.
 */
export const LOST_HOLD_GRACE_MS = HOLD_RETAKE_MS + 5000;

/** What a worker learns when it tries to take a run it received. */
export type HoldOutcome =
  /** Ours now: the run is queued and this process alone may claim it. */
  | { taken: true }
  /** Another live worker holds it: this delivery is a duplicate. */
  | { taken: false; reason: 'held' }
  /** Nobody holds it, but it is not queued (running with a lost worker, ended, or unknown). */
  | { taken: false; reason: 'not_queued'; status: RunStatus | null };

/**
 * Marks the runs a worker process has in hand, as PostgreSQL advisory locks on the worker's
 * own session. SQS cannot say whether a message is being worked on; these locks can, and
 * they vanish with the worker's session when it dies. Keys are hashtext(run id): two runs
 * sharing a hash can only make one look held for as long as the other is.
 */
export interface RunHolds {
  take(runId: string): Promise<HoldOutcome>;
  release(runId: string): Promise<void>;
  /** Runs this process holds, lock or not; re-locked after the session is replaced. */
  readonly inHand: ReadonlySet<string>;
  close(): Promise<void>;
}

export function createRunHolds(session: SessionConnection): RunHolds & {
  relock(client: { query(text: string, values: unknown[]): Promise<unknown> }): Promise<void>;
} {
  const inHand = new Set<string>();
  const taking = new Set<string>();
  const unlock = (runId: string) =>
    session.query('select pg_advisory_unlock($1, hashtext($2))', [RUN_HOLD_NAMESPACE, runId]);
  return {
    inHand,
    async take(runId) {
      // Session advisory locks are re-entrant: a second slot of this same process would get
      // the lock again, so copies in this process are told apart here, before asking.
      if (inHand.has(runId) || taking.has(runId)) return { taken: false, reason: 'held' };
      taking.add(runId);
      try {
        const [row] = await session.query<{ locked: boolean; status: RunStatus | null }>(
          `select pg_try_advisory_lock($1, hashtext($2)) as locked,
                  (select status from runs where id = $2) as status`,
          [RUN_HOLD_NAMESPACE, runId],
        );
        if (row?.locked !== true) return { taken: false, reason: 'held' };
        if (row.status === 'queued') {
          inHand.add(runId);
          return { taken: true };
        }
        await unlock(runId);
        return { taken: false, reason: 'not_queued', status: row.status };
      } finally {
        taking.delete(runId);
      }
    },
    async release(runId) {
      if (!inHand.delete(runId)) return;
      await unlock(runId).catch(() => undefined); // a lost session released it already
    },
    async relock(client) {
      for (const runId of inHand) {
        await client.query('select pg_try_advisory_lock($1, hashtext($2))', [
          RUN_HOLD_NAMESPACE,
          runId,
        ]);
      }
    },
    async close() {
      inHand.clear();
      await session.close();
    },
  };
}

/** The ids among `runIds` that some worker session holds right now (APP side, any instance). */
export async function heldRunIds(db: Database, runIds: readonly string[]): Promise<Set<string>> {
  if (runIds.length === 0) return new Set();
  const ids = sql.join(
    runIds.map((id) => sql`${id}::text`),
    sql`, `,
  );
  const result = (await db.execute(sql`
    select id from unnest(array[${ids}]) as id
    where exists (
      select 1 from pg_locks
      where locktype = 'advisory' and granted and objsubid = 2
        and database = (select oid from pg_database where datname = current_database())
        and classid = ${RUN_HOLD_NAMESPACE} and objid = hashtext(id)::oid)`)) as {
    rows: { id: string }[];
  };
  return new Set(result.rows.map((row) => row.id));
}
