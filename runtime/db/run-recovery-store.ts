import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Database } from './client';
import { keyedRunStatusIn } from './keyed-run-conditions';
import { runs } from './schema';

/** Reason recorded on a run whose worker died on its last allowed attempt. */
export const WORKER_LOST = 'worker_lost';
/** Reason recorded on a run refused with 503 because its job could not be enqueued. */
export const ENQUEUE_FAILED = 'enqueue_failed';

export interface OverdueRun {
  id: string;
  attempt: number;
  /** Attempts a draining worker handed back; they do not count against SLUICE_MAX_ATTEMPTS. */
  interruptions: number;
}

/**
 * The oldest `queued` runs created, or `running` runs started, more than `olderThanS` seconds
 * ago (database clock). Served by the partial index on unfinished runs.
 */
export async function overdueRuns(
  db: Database,
  status: 'queued' | 'running',
  olderThanS: number,
  limit: number,
): Promise<OverdueRun[]> {
  const since = status === 'queued' ? runs.createdAt : runs.startedAt;
  return db
    .select({ id: runs.id, attempt: runs.attempt, interruptions: runs.interruptions })
    .from(runs)
    .where(
      and(eq(runs.status, status), sql`${since} < now() - make_interval(secs => ${olderThanS})`),
    )
    .orderBy(runs.createdAt)
    .limit(limit);
}

/** Whether any run is queued or running, whatever its age: the reconciler rests only when none is. */
export async function hasUnfinishedRuns(db: Database): Promise<boolean> {
  const [row] = await db
    .select({ id: runs.id })
    .from(runs)
    .where(sql`${runs.status} in ('queued', 'running')`)
    .limit(1);
  return row !== undefined;
}

/** `running` at `attempt` → `queued`, so a new attempt can claim it. False if it moved on. */
export async function requeueLostRun(db: Database, run: OverdueRun): Promise<boolean> {
  const updated = await db
    .update(runs)
    .set({ status: 'queued' })
    .where(and(eq(runs.id, run.id), keyedRunStatusIn(['running']), eq(runs.attempt, run.attempt)))
    .returning({ id: runs.id });
  return updated.length > 0;
}

/** `running` at `attempt` → `failed` with reason worker_lost. False if it moved on. */
export async function failLostRun(db: Database, run: OverdueRun): Promise<boolean> {
  const updated = await db
    .update(runs)
    .set({ status: 'failed', error: WORKER_LOST, failedStep: null, finishedAt: new Date() })
    .where(and(eq(runs.id, run.id), keyedRunStatusIn(['running']), eq(runs.attempt, run.attempt)))
    .returning({ id: runs.id });
  return updated.length > 0;
}

/**
 * A run no worker has claimed yet → `canceled` (enqueue_failed). False when a worker already
 * claimed it: the enqueue that seemed to fail did land, so the run is live. The run's
 * Idempotency-Key is released with it: the caller was told 503 (no run), so its retry with the
 * same key must start a run, not be answered with this canceled one. False too when a repeat of
 * that key was already answered 202 with this run (repeatAcceptedAt): it stays queued for the
 * reconciler to enqueue, and the first caller is told 202 as well.
 */
export async function cancelUnclaimedRun(db: Database, runId: string): Promise<boolean> {
  const updated = await db
    .update(runs)
    .set({
      status: 'canceled',
      error: ENQUEUE_FAILED,
      finishedAt: new Date(),
      idempotencyKey: null,
    })
    .where(
      and(
        eq(runs.id, runId),
        keyedRunStatusIn(['queued']),
        eq(runs.attempt, 0),
        // A repeat of its Idempotency-Key was told 202: the run must run (see repeatAcceptedAt).
        isNull(runs.repeatAcceptedAt),
      ),
    )
    .returning({ id: runs.id });
  return updated.length > 0;
}
