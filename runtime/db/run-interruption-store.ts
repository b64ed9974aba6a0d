import { and, inArray, sql } from 'drizzle-orm';
import type { Database } from './client';
import { keyedRunStatusIn } from './keyed-run-conditions';
import { runs } from './schema';

/**
 * A draining worker hands its runs back: each goes to `queued` with `interruptions` counted,
 * so the attempt it was on fences any late write from it (finishRun needs `running`) and the
 * next claim starts attempt + 1. Runs that already ended are left alone. Returns the ids marked.
 */
export async function markRunsInterrupted(
  db: Database,
  runIds: readonly string[],
): Promise<string[]> {
  if (runIds.length === 0) return [];
  const rows = await db
    .update(runs)
    .set({ status: 'queued', interruptions: sql`${runs.interruptions} + 1` })
    .where(and(inArray(runs.id, [...runIds]), keyedRunStatusIn(['running'])))
    .returning({ id: runs.id });
  return rows.map((row) => row.id);
}
