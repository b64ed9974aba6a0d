import { and, eq, inArray, or, sql } from 'drizzle-orm';
import type { Database } from './client';
import { keyedRunStatusIn } from './keyed-run-conditions';
import { runs } from './schema';

/** A run a draining worker hands back, and the attempt it claimed it at. */
export interface InterruptedRun {
  runId: string;
  /**
   * The attempt this worker's claim gave the run; null while it has none (still unclaimed, or
   * its claim in flight), and then whichever attempt is running is marked.
   */
  attempt: number | null;
}

/**
 * A draining worker hands its runs back: each goes to `queued` with `interruptions` counted,
 * so the attempt it was on fences any late write from it (finishRun needs `running`) and the
 * next claim starts attempt + 1. Only a run still at the attempt this worker claimed is marked:
 * one another worker has taken over since (after a stalled lock or a lost session) is that
 * worker's. Runs that already ended are left alone. Returns the ids marked.
 */
export async function markRunsInterrupted(
  db: Database,
  handedBack: readonly InterruptedRun[],
): Promise<string[]> {
  if (handedBack.length === 0) return [];
  const claimedHere = ({ runId, attempt }: InterruptedRun) =>
    attempt === null ? eq(runs.id, runId) : and(eq(runs.id, runId), eq(runs.attempt, attempt));
  const rows = await db
    .update(runs)
    .set({ status: 'queued', interruptions: sql`${runs.interruptions} + 1` })
    .where(
      and(
        inArray(
          runs.id,
          handedBack.map((run) => run.runId),
        ),
        keyedRunStatusIn(['running']),
        or(...handedBack.map(claimedHere)),
      ),
    )
    .returning({ id: runs.id });
  return rows.map((row) => row.id);
}
