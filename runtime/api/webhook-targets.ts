import type { Database } from '../db/client';
import { findWebhookTarget } from '../db/flow-store';

export type WebhookTarget = NonNullable<Awaited<ReturnType<typeof findWebhookTarget>>>;

export interface WebhookTargets {
  /**
   * The flow as a webhook sees it. `fresh: false` may answer from memory; the caller must
   * treat a cached answer as a hint and let the run insert re-check it (insertWebhookRun).
   */
  get(flowId: string, options: { fresh: boolean }): Promise<WebhookTarget | null>;
  /** Drops what is remembered of the flow: this instance changed it (secret, status). */
  forget(flowId: string): void;
}

/** Enough for every flow of a large install; beyond it the oldest entries make room. */
const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * Remembers enabled flows' webhook targets, so an accepted webhook costs one statement (the
 * guarded insert) instead of a lookup and an insert. Only enabled flows are kept: a disabled
 * or unknown flow is always looked up, so re-enabling one is seen at once. An entry is kept
 * for at most `ttlMs` (what another instance changed is seen within that), and never past the
 * end of the replaced secret's overlap, so a cached entry never offers an ended secret.
 */
export function createWebhookTargets(
  db: Database,
  { ttlMs, maxEntries = DEFAULT_MAX_ENTRIES }: { ttlMs: number; maxEntries?: number },
): WebhookTargets {
  const known = new Map<string, { target: WebhookTarget; expiresAt: number }>();
  // Bumped by forget(): a lookup that started before a change must not cache what it read.
  let changes = 0;
  return {
    async get(flowId, { fresh }) {
      const cached = fresh ? undefined : known.get(flowId);
      if (cached !== undefined && cached.expiresAt > Date.now()) return cached.target;
      known.delete(flowId);
      const changesBefore = changes;
      const target = await findWebhookTarget(db, flowId);
      const unchanged = changes === changesBefore;
      if (unchanged && target?.status === 'enabled' && target.currentVersionId !== null) {
        if (known.size >= maxEntries) {
          const oldest = known.keys().next().value;
          if (oldest !== undefined) known.delete(oldest);
        }
        const overlapEnd = target.previousWebhookSecretExpiresAt?.getTime() ?? Infinity;
        known.set(flowId, { target, expiresAt: Math.min(Date.now() + ttlMs, overlapEnd) });
      }
      return target;
    },
    forget(flowId) {
      changes++;
      known.delete(flowId);
    },
  };
}
