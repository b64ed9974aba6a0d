import { sql } from 'drizzle-orm';
import type { Database } from './client';

/** A worker seen within this long counts as live (console, Workers metric) with the sqs queue. */
export const WORKERS_SEEN_WINDOW_S = 600;
/** How often a worker holding its session writes its sighting again. */
export const SIGHTING_EVERY_MS = 60_000;

interface SessionClient {
  query(text: string, values: unknown[]): Promise<unknown>;
}

/** Marks `workerId` seen now, and forgets workers not seen for a day (tasks long gone). */
export async function recordSighting(session: SessionClient, workerId: string): Promise<void> {
  await session.query(
    `with stale as (delete from worker_sightings where seen_at < now() - interval '1 day')
     insert into worker_sightings (worker_id, seen_at) values ($1, now())
     on conflict (worker_id) do update set seen_at = excluded.seen_at`,
    [workerId],
  );
}

/** A worker that stops is no longer live: it takes its sighting with it. */
export async function forgetSighting(session: SessionClient, workerId: string): Promise<void> {
  await session.query('delete from worker_sightings where worker_id = $1', [workerId]);
}

/** Workers seen within `windowS` seconds (database clock). */
export async function workersSeen(db: Database, windowS: number): Promise<number> {
  const result = (await db.execute(
    sql`select count(*)::int as workers from worker_sightings
        where seen_at > now() - make_interval(secs => ${windowS})`,
  )) as unknown as { rows: { workers: number }[] };
  return Number(result.rows[0]?.workers ?? 0);
}
