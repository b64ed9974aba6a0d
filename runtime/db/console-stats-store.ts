import { and, count, eq, gte, inArray, min, sql } from 'drizzle-orm';
import type { Database } from './client';
import { runs } from './schema';

const FAILED = ['failed', 'timed_out', 'limit_exceeded'] as const;

export interface RunCounts {
  runs: number;
  failed: number;
}

/** Per flow: runs created since `since` and how many of them failed (runs_flow_created_idx). */
export async function flowRunCounts(
  db: Database,
  projectId: string,
  flowIds: readonly string[],
  since: Date,
): Promise<Map<string, RunCounts>> {
  if (flowIds.length === 0) return new Map();
  const rows = await db
    .select({
      flowId: runs.flowId,
      runs: count(),
      failed: sql<number>`count(*) filter (where ${inArray(runs.status, [...FAILED])})`.mapWith(
        Number,
      ),
    })
    .from(runs)
    .where(
      and(
        eq(runs.projectId, projectId),
        inArray(runs.flowId, [...flowIds]),
        gte(runs.createdAt, since),
      ),
    )
    .groupBy(runs.flowId);
  return new Map(rows.map((r) => [r.flowId, { runs: Number(r.runs), failed: r.failed }]));
}

export interface SystemSnapshot {
  waiting: number;
  running: number;
  oldestWaitingAt: Date | null;
  /** Runs that ended in the last hour, and how many of them failed. */
  lastHour: RunCounts;
}

/**
 * What "is anything wrong right now" needs, from the runs table (the outbox): queued runs are
 * the waiting work on every queue driver, so this reads the same for Redis, SQS and embedded.
 */
export async function systemSnapshot(db: Database, projectId: string): Promise<SystemSnapshot> {
  const [unfinished] = await db
    .select({
      waiting: sql<number>`count(*) filter (where ${runs.status} = 'queued')`.mapWith(Number),
      running: sql<number>`count(*) filter (where ${runs.status} = 'running')`.mapWith(Number),
      oldestWaitingAt: min(
        sql<Date>`case when ${runs.status} = 'queued' then ${runs.createdAt} end`,
      ).mapWith(runs.createdAt),
    })
    .from(runs)
    .where(and(eq(runs.projectId, projectId), inArray(runs.status, ['queued', 'running'])));
  const [ended] = await db
    .select({
      runs: count(),
      failed: sql<number>`count(*) filter (where ${inArray(runs.status, [...FAILED])})`.mapWith(
        Number,
      ),
    })
    .from(runs)
    .where(
      and(eq(runs.projectId, projectId), gte(runs.createdAt, new Date(Date.now() - 3_600_000))),
    );
  return {
    waiting: unfinished?.waiting ?? 0,
    running: unfinished?.running ?? 0,
    oldestWaitingAt: unfinished?.oldestWaitingAt ?? null,
    lastHour: { runs: Number(ended?.runs ?? 0), failed: ended?.failed ?? 0 },
  };
}
