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
  /** Runs this process holds, lock or not; re-locked after the session is replaced (see relock). */
  readonly inHand: ReadonlySet<string>;
  close(): Promise<void>;
}

/** A connection that answers rows: the new session, inside its onConnect. */
interface RowsClient {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
}

export function createRunHolds(session: SessionConnection): RunHolds & {
  /**
   * On a new session: takes back the holds of the runs this process still owns, and returns
   * the others, which it lets go (see below).
   */
  relock(client: RowsClient): Promise<string[]>;
} {
  const inHand = new Set<string>();
  /** The attempt each run in hand had when taken (queued): this process's claim makes it + 1. */
  const takenAtAttempt = new Map<string, number>();
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
        const [row] = await session.query<{
          locked: boolean;
          status: RunStatus | null;
          attempt: number | null;
        }>(
          `select pg_try_advisory_lock($1, hashtext($2)) as locked,
                  (select status from runs where id = $2) as status,
                  (select attempt from runs where id = $2) as attempt`,
          [RUN_HOLD_NAMESPACE, runId],
        );
        if (row?.locked !== true) return { taken: false, reason: 'held' };
        if (row.status === 'queued') {
          inHand.add(runId);
          takenAtAttempt.set(runId, row.attempt ?? 0);
          return { taken: true };
        }
        await unlock(runId);
        return { taken: false, reason: 'not_queued', status: row.status };
      } finally {
        taking.delete(runId);
      }
    },
    async release(runId) {
      takenAtAttempt.delete(runId);
      if (!inHand.delete(runId)) return;
      await unlock(runId).catch(() => undefined); // a lost session released it already
    },
    async relock(client) {
      // While the session was gone, the reconciler may have seen a run unheld for its whole
      // grace and queued it again (or failed it): a hold taken back on it would make the worker
      // of its new message drop that message as a duplicate, and the run would sit queued. So a
      // hold is taken back only on a run still queued at the attempt it was taken at (not
      // claimed yet) or running at the next one (this process's claim). The others are let go:
      // their flows end here unrecorded, refused by the attempt fence.
      const letGo: string[] = [];
      for (const runId of [...inHand]) {
        const { rows } = await client.query(
          `select pg_try_advisory_lock($1, hashtext($2)) from runs
            where id = $2
              and ((status = 'queued' and attempt = $3) or (status = 'running' and attempt = $3 + 1))`,
          [RUN_HOLD_NAMESPACE, runId, takenAtAttempt.get(runId) ?? 0],
        );
        if (rows.length > 0) continue;
        inHand.delete(runId);
        takenAtAttempt.delete(runId);
        letGo.push(runId);
      }
      return letGo;
    },
    async close() {
      inHand.clear();
      takenAtAttempt.clear();
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
