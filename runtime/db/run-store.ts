import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { Database } from './client';
import { type RunStatus, runs } from './schema';

export type RunRow = typeof runs.$inferSelect;

export interface NewRun {
  id: string;
  projectId: string;
  flowId: string;
  flowVersionId: string;
  trigger: unknown;
}

export async function insertQueuedRun(db: Database, run: NewRun): Promise<void> {
  await db.insert(runs).values({ ...run, status: 'queued' });
}

export interface StartedRun {
  projectId: string;
  flowId: string;
  flowVersionId: string;
  trigger: unknown;
  attempt: number;
}

/**
 * Claims a run for this worker and bumps its attempt. A run that already ended is not
 * started again (a duplicate job delivery), so this returns null.
 */
export async function startRun(db: Database, runId: string): Promise<StartedRun | null> {
  const [row] = await db
    .update(runs)
    .set({ status: 'running', attempt: sql`${runs.attempt} + 1`, startedAt: new Date() })
    .where(and(eq(runs.id, runId), inArray(runs.status, ['queued', 'running'])))
    .returning({
      projectId: runs.projectId,
      flowId: runs.flowId,
      flowVersionId: runs.flowVersionId,
      trigger: runs.trigger,
      attempt: runs.attempt,
    });
  return row ?? null;
}

export interface RunResult {
  status: Exclude<RunStatus, 'queued' | 'running'>;
  error: string | null;
  failedStep: string | null;
  logKey: string | null;
  responseStatus: number | null;
  response: unknown;
  steps: unknown;
}

/**
 * Writes the outcome only if this attempt still owns the run (fencing): no newer attempt has
 * claimed it, and the reaper has not given it back to the queue or failed it as worker_lost.
 */
export async function finishRun(
  db: Database,
  runId: string,
  attempt: number,
  result: RunResult,
): Promise<boolean> {
  const updated = await db
    .update(runs)
    .set({ ...result, finishedAt: new Date() })
    .where(and(eq(runs.id, runId), eq(runs.attempt, attempt), eq(runs.status, 'running')))
    .returning({ id: runs.id });
  return updated.length > 0;
}

export async function findRun(db: Database, projectId: string, runId: string) {
  const [row] = await db
    .select()
    .from(runs)
    .where(and(eq(runs.id, runId), eq(runs.projectId, projectId)));
  return row ?? null;
}

export interface RunListFilter {
  projectId: string;
  flowId?: string | undefined;
  status?: RunStatus | undefined;
  limit: number;
  /** Keyset cursor: the last row of the previous page. */
  after?: { createdAt: Date; id: string } | undefined;
}

export async function listRuns(db: Database, filter: RunListFilter): Promise<RunRow[]> {
  const conditions = [eq(runs.projectId, filter.projectId)];
  if (filter.flowId !== undefined) conditions.push(eq(runs.flowId, filter.flowId));
  if (filter.status !== undefined) conditions.push(eq(runs.status, filter.status));
  if (filter.after !== undefined) {
    const { createdAt, id } = filter.after;
    const older = or(
      lt(runs.createdAt, createdAt),
      and(eq(runs.createdAt, createdAt), lt(runs.id, id)),
    );
    if (older !== undefined) conditions.push(older);
  }
  return db
    .select()
    .from(runs)
    .where(and(...conditions))
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .limit(filter.limit);
}
