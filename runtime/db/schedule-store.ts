import { sql } from 'drizzle-orm';
import type { Database } from './client';

export interface ScheduledFlow {
  flowId: string;
  versionId: string;
  /** The current version's trigger, as stored (validated when the version was saved). */
  trigger: unknown;
  /** When the flow last changed (a new version, enable): no tick before it is fired. */
  since: Date;
}

/** Enabled, undeleted flows whose current version has a schedule trigger. */
export async function scheduledFlows(db: Database): Promise<ScheduledFlow[]> {
  const result = (await db.execute(sql`
    select f.id as flow_id, v.id as version_id, v.definition->'trigger' as trigger,
           greatest(f.updated_at, v.created_at) as since
      from flows f join flow_versions v on v.id = f.current_version_id
     where f.status = 'enabled' and f.deleted_at is null
       and v.definition->'trigger'->>'type' = 'schedule'`)) as {
    rows: { flow_id: string; version_id: string; trigger: unknown; since: Date | string }[];
  };
  return result.rows.map((row) => ({
    flowId: row.flow_id,
    versionId: row.version_id,
    trigger: row.trigger,
    since: new Date(row.since),
  }));
}

export interface ScheduledRun {
  id: string;
  flowId: string;
  /** The version whose cron produced the tick: a flow changed since then gets no run for it. */
  versionId: string;
  scheduledAt: Date;
  firedAt: Date;
}

/**
 * Inserts the tick's run as `queued`, unless the flow's current version is no longer the one
 * that produced it, the flow is disabled or deleted, or the tick already has its run: the
 * unique index on (flow_id, scheduled_at) refuses the second, whichever APP fires it. True
 * when this call created the run.
 */
export async function insertScheduledRun(db: Database, run: ScheduledRun): Promise<boolean> {
  const trigger = JSON.stringify({
    type: 'schedule',
    scheduledAt: run.scheduledAt.toISOString(),
    firedAt: run.firedAt.toISOString(),
  });
  const result = (await db.execute(sql`
    insert into runs (id, project_id, flow_id, flow_version_id, status, trigger, scheduled_at)
    select ${run.id}, f.project_id, f.id, f.current_version_id, 'queued', ${trigger}::jsonb,
           ${run.scheduledAt.toISOString()}::timestamptz
      from flows f
     where f.id = ${run.flowId} and f.current_version_id = ${run.versionId}
       and f.status = 'enabled' and f.deleted_at is null
    on conflict (flow_id, scheduled_at) where scheduled_at is not null do nothing
    returning id`)) as { rows: { id: string }[] };
  return result.rows.length > 0;
}
