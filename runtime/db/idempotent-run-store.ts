import { and, eq, sql } from 'drizzle-orm';
import type { Database } from './client';
import type { NewRun } from './run-store';
import { runs } from './schema';

/** How long an Idempotency-Key maps to its first run. */
export const IDEMPOTENCY_WINDOW_S = 24 * 3600;

/**
 * Inserts the queued run unless the flow already has a run with this key from the last 24 h.
 * Returns the run id that stands for the request and whether it is new. A key older than
 * the window is released (set to null on the old run) and the insert is tried again.
 */
export async function insertQueuedRunOnce(
  db: Database,
  run: NewRun,
  idempotencyKey: string,
): Promise<{ runId: string; created: boolean }> {
  for (let tries = 0; tries < 3; tries++) {
    const inserted = await db
      .insert(runs)
      .values({ ...run, status: 'queued', idempotencyKey })
      .onConflictDoNothing({
        target: [runs.flowId, runs.idempotencyKey],
        where: sql`idempotency_key is not null`,
      })
      .returning({ id: runs.id });
    if (inserted.length > 0) return { runId: run.id, created: true };
    const [existing] = await db
      .select({
        id: runs.id,
        fresh: sql<boolean>`${runs.createdAt} > now() - make_interval(secs => ${IDEMPOTENCY_WINDOW_S})`,
      })
      .from(runs)
      .where(and(eq(runs.flowId, run.flowId), eq(runs.idempotencyKey, idempotencyKey)));
    if (existing === undefined) continue; // released meanwhile: insert again
    if (existing.fresh) return { runId: existing.id, created: false };
    await db
      .update(runs)
      .set({ idempotencyKey: null })
      .where(and(eq(runs.id, existing.id), eq(runs.idempotencyKey, idempotencyKey)));
  }
  throw new Error(`idempotency key ${idempotencyKey} kept conflicting`);
}
