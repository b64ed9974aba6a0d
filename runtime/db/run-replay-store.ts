import { type SQL, sql } from 'drizzle-orm';
import type { Database } from './client';
import type { RunStatus } from './schema';

/** Which flow version a replay runs: the flow's current one, or the original run's. */
export type ReplayVersion = 'current' | 'same';

export type ReplayRefusal = 'run_not_found' | 'flow_not_found' | 'flow_disabled';

export interface ReplayFilter {
  projectId: string;
  flowId?: string | undefined;
  status?: RunStatus | undefined;
  createdFrom?: Date | undefined;
  createdTo?: Date | undefined;
  limit: number;
}

const versionColumn = (version: ReplayVersion) =>
  version === 'same' ? sql`o.flow_version_id` : sql`f.current_version_id`;

/**
 * SQL: inserts a queued copy of each original run `o` matched by `where` (over `runs o` joined
 * to its flow `f`), with the same trigger and `replay_of` set, only while the flow is enabled,
 * not deleted and has a version. Returns `{ id }` rows, oldest original first.
 */
const insertReplays = (version: ReplayVersion, where: SQL, limit: number) => sql`
  insert into runs (id, project_id, flow_id, flow_version_id, status, trigger, replay_of)
  select gen_random_uuid()::text, o.project_id, o.flow_id, ${versionColumn(version)}, 'queued',
         o.trigger, o.id
    from (select o.* from runs o join flows f on f.id = o.flow_id
           where ${where}
             and f.status = 'enabled' and f.deleted_at is null
             and f.current_version_id is not null
           order by o.created_at, o.id
           limit ${limit}) o
    join flows f on f.id = o.flow_id
  returning id`;

/**
 * Replays one run as a new queued run. Answers the new run's id, or why it was refused: an
 * unknown run, a deleted flow or a disabled one.
 */
export async function replayRun(
  db: Database,
  projectId: string,
  runId: string,
  version: ReplayVersion,
): Promise<{ runId: string } | { refused: ReplayRefusal }> {
  const inserted = (await db.execute(
    insertReplays(version, sql`o.id = ${runId} and o.project_id = ${projectId}`, 1),
  )) as { rows: { id: string }[] };
  const [row] = inserted.rows;
  if (row !== undefined) return { runId: row.id };
  const found = (await db.execute(sql`
    select f.status, f.deleted_at is not null as deleted
      from runs o join flows f on f.id = o.flow_id
     where o.id = ${runId} and o.project_id = ${projectId}`)) as {
    rows: { status: string; deleted: boolean }[];
  };
  const [flow] = found.rows;
  if (flow === undefined) return { refused: 'run_not_found' };
  return { refused: flow.deleted ? 'flow_not_found' : 'flow_disabled' };
}

/**
 * Replays up to `filter.limit` runs that match, oldest first, skipping those whose flow is
 * disabled or deleted. Answers the new runs' ids.
 */
export async function replayRuns(
  db: Database,
  filter: ReplayFilter,
  version: ReplayVersion,
): Promise<string[]> {
  const conditions = [sql`o.project_id = ${filter.projectId}`];
  if (filter.flowId !== undefined) conditions.push(sql`o.flow_id = ${filter.flowId}`);
  if (filter.status !== undefined) conditions.push(sql`o.status = ${filter.status}`);
  if (filter.createdFrom !== undefined) {
    conditions.push(sql`o.created_at >= ${filter.createdFrom.toISOString()}::timestamptz`);
  }
  if (filter.createdTo !== undefined) {
    conditions.push(sql`o.created_at < ${filter.createdTo.toISOString()}::timestamptz`);
  }
  const inserted = (await db.execute(
    insertReplays(version, sql.join(conditions, sql` and `), filter.limit),
  )) as { rows: { id: string }[] };
  return inserted.rows.map((row) => row.id);
}
