import { sql } from 'drizzle-orm';
import type { Database } from './client';

/**
 * Deletes up to `limit` ended runs older than their flow's retention (or `defaultDays`),
 * oldest first, in one short statement; returns the log keys of the runs it deleted.
 * `for update skip locked` passes over rows a worker or the API is writing right now, so the
 * pruner never waits on (or deadlocks with) them; queued and running runs are never chosen.
 */
export async function deleteExpiredRuns(
  db: Database,
  defaultDays: number,
  limit: number,
): Promise<{ deleted: number; logKeys: string[] }> {
  // Both drivers (node-postgres and PGlite) answer execute() with `{ rows }`.
  const result = (await db.execute(sql`
    with doomed as (${expiredRuns(defaultDays, limit)})
    delete from runs using doomed where runs.id = doomed.id
    returning runs.log_key`)) as { rows: { log_key: string | null }[] };
  const rows = result.rows;
  return {
    deleted: rows.length,
    logKeys: rows.flatMap((row) => (row.log_key === null ? [] : [row.log_key])),
  };
}

/**
 * The ids of up to `limit` expired ended runs, oldest first, locked. Each run's own limit
 * depends on its flow, so it cannot bound the index scan; the shortest retention in use (the
 * default, or a shorter flow's) does. Without that bound, a pass with nothing (or little) to
 * prune walked every ended run and looked up its flow, every 10 s: 0.9 s for 300k runs on
 * PostgreSQL, past SLUICE_DB_QUERY_TIMEOUT_MS at a few million, and all of it blocking the
 * event loop on PGlite.
 */
export const expiredRuns = (defaultDays: number, limit: number) => sql`
  select r.id from runs r join flows f on f.id = r.flow_id
  where r.status not in ('queued', 'running')
    and r.created_at < now() - make_interval(days => (
      select least(${defaultDays}::int, min(run_retention_days)) from flows))
    and r.created_at < now() - make_interval(days => coalesce(f.run_retention_days, ${defaultDays}::int))
  order by r.created_at
  limit ${limit}
  for update of r skip locked`;

/** Deletes up to `limit` uploaded files older than `days`; returns their storage keys. */
export async function deleteExpiredFiles(
  db: Database,
  days: number,
  limit: number,
): Promise<string[]> {
  const result = (await db.execute(sql`
    with doomed as (
      select id from files
      where kind = 'FILE' and created_at < now() - make_interval(days => ${days})
      order by created_at
      limit ${limit}
      for update skip locked
    )
    delete from files using doomed where files.id = doomed.id
    returning files.key`)) as { rows: { key: string }[] };
  return result.rows.map((row) => row.key);
}
