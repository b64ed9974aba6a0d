import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from './client';
import { keyedRunOfProject, keyedRunStatusIn } from './keyed-run-conditions';
import { type RunStatus, runs } from './schema';
import { storableJson, storableText } from './storable-text';

/** The error a canceled run records; the API and the worker's reply both use it. */
export const CANCELED_ERROR = 'canceled by request';

export type CancelResult = { canceled: true } | { canceled: false; status: RunStatus } | null;

/**
 * Cancels a run that has not ended: a queued run is never claimed after this (startRun takes
 * only queued and running rows), and a running run's worker sees the status within its cancel
 * poll and stops. Answers null for a run this project does not have, and the status of a run
 * that had already ended.
 */
export async function cancelRun(
  db: Database,
  projectId: string,
  runId: string,
): Promise<CancelResult> {
  const updated = await db
    .update(runs)
    .set({ status: 'canceled', error: CANCELED_ERROR, finishedAt: sql`now()` })
    .where(
      and(
        eq(runs.id, runId),
        keyedRunOfProject(projectId),
        keyedRunStatusIn(['queued', 'running']),
      ),
    )
    .returning({ id: runs.id });
  if (updated.length > 0) return { canceled: true };
  const [row] = await db
    .select({ status: runs.status })
    .from(runs)
    .where(and(eq(runs.id, runId), keyedRunOfProject(projectId)));
  return row === undefined ? null : { canceled: false, status: row.status };
}

/** The ids among `runIds` whose run was canceled: one indexed lookup for a worker's runs. */
export async function canceledAmong(db: Database, runIds: readonly string[]): Promise<string[]> {
  if (runIds.length === 0) return [];
  const rows = await db
    .select({ id: runs.id })
    .from(runs)
    .where(and(inArray(runs.id, [...runIds]), keyedRunStatusIn(['canceled'])));
  return rows.map((row) => row.id);
}

export interface CanceledRecord {
  /** The step that was running when the cancel stopped it, as its log and sync reply name it. */
  failedStep: string | null;
  logKey: string | null;
  /** The log itself when small enough to keep in the row (see RunResult.logBody). */
  logBody: string | null;
  steps: unknown;
  dispatchMs: number | null;
}

/**
 * Adds what the worker saw of a run canceled under it (its step summary and its log or log key) to the
 * row the cancel already ended, fenced by attempt like finishRun.
 */
export async function recordCanceledRun(
  db: Database,
  runId: string,
  attempt: number,
  record: CanceledRecord,
): Promise<boolean> {
  const updated = await db
    .update(runs)
    .set({
      failedStep: storableText(record.failedStep),
      logKey: record.logKey,
      logBody: record.logBody,
      steps:
        record.steps === null ? null : sql`${storableJson(JSON.stringify(record.steps))}::jsonb`,
      dispatchMs: record.dispatchMs,
    })
    .where(and(eq(runs.id, runId), eq(runs.attempt, attempt), keyedRunStatusIn(['canceled'])))
    .returning({ id: runs.id });
  return updated.length > 0;
}
