import { and, eq, sql } from 'drizzle-orm';
import type { Database } from './client';
import { acceptsWebhookSecret, type WebhookRun } from './run-store';
import { flows, runs } from './schema';

/** How long an Idempotency-Key maps to its first run. */
export const IDEMPOTENCY_WINDOW_S = 24 * 3600;

/**
 * Inserts the queued run unless the flow already has a run with this key from the last 24 h,
 * and only while the flow accepts it exactly as insertWebhookRuns demands (enabled, current
 * version, and still accepting the secret the signature was checked with). Returns the run
 * id that stands for the request and whether it is new, or null when the flow no longer
 * accepts the run (the caller reads the flow again). A key older than the window is released
 * (set to null on the old run) and the insert is tried again.
 */
export async function insertQueuedRunOnce(
  db: Database,
  run: WebhookRun,
  idempotencyKey: string,
): Promise<{ runId: string; created: boolean; projectId: string } | null> {
  for (let tries = 0; tries < 3; tries++) {
    // One statement: `project_id` is null when the flow refused the run, `id` when the key
    // was already taken.
    const result = (await db.execute(sql`
      with target as (
        select f.id, f.project_id, f.current_version_id
          from ${flows} f
         where f.id = ${run.flowId}
           and f.status = 'enabled'
           and f.current_version_id is not null
           and f.deleted_at is null
           and ${acceptsWebhookSecret(sql`${run.webhookSecret}::text`)}
      ), inserted as (
        insert into ${runs} (id, project_id, flow_id, flow_version_id, status, trigger, idempotency_key)
        select ${run.id}, t.project_id, t.id, t.current_version_id, 'queued', ${run.triggerJson}::jsonb, ${idempotencyKey}
          from target t
        on conflict (flow_id, idempotency_key) where idempotency_key is not null do nothing
        returning id
      )
      select (select project_id from target) as project_id, (select id from inserted) as id`)) as {
      rows: { project_id: string | null; id: string | null }[];
    };
    const projectId = result.rows[0]?.project_id ?? null;
    if (projectId === null) return null;
    if (result.rows[0]?.id != null) return { runId: run.id, created: true, projectId };
    // Marked in the same statement that finds it, so the first request's cancel after a failed
    // enqueue (cancelUnclaimedRun) either came first, and released the key, or sees the mark.
    const [existing] = await db
      .update(runs)
      .set({ repeatAcceptedAt: sql`coalesce(${runs.repeatAcceptedAt}, now())` })
      .where(and(eq(runs.flowId, run.flowId), eq(runs.idempotencyKey, idempotencyKey)))
      .returning({
        id: runs.id,
        fresh: sql<boolean>`${runs.createdAt} > now() - make_interval(secs => ${IDEMPOTENCY_WINDOW_S})`,
      });
    if (existing === undefined) continue; // released meanwhile: insert again
    if (existing.fresh) return { runId: existing.id, created: false, projectId };
    await db
      .update(runs)
      .set({ idempotencyKey: null })
      .where(and(eq(runs.id, existing.id), eq(runs.idempotencyKey, idempotencyKey)));
  }
  throw new Error(`idempotency key ${idempotencyKey} kept conflicting`);
}
