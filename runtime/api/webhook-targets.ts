import type { Database } from '../db/client';
import { findWebhookTarget } from '../db/flow-store';

export type WebhookTarget = NonNullable<Awaited<ReturnType<typeof findWebhookTarget>>>;

export interface WebhookTargets {
  /**
   * The flow as a webhook sees it. `fresh: false` may answer from memory; the caller must
   * treat a cached answer as a hint and let the run insert re-check it (insertWebhookRun).
   */
  get(flowId: string, options: { fresh: boolean }): Promise<WebhookTarget | null>;
}

/** Enough for every flow of a large install; beyond it the oldest entries make room. */
const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * Remembers enabled flows' webhook targets, so an accepted webhook costs one statement (the
 * guarded insert) instead of a lookup and an insert. Only enabled flows are kept: a disabled
 * or unknown flow is always looked up, so re-enabling one is seen at once.
 */
export function createWebhookTargets(
  db: Database,
  maxEntries = DEFAULT_MAX_ENTRIES,
): WebhookTargets {
  const known = new Map<string, WebhookTarget>();
  return {
    async get(flowId, { fresh }) {
      const cached = fresh ? undefined : known.get(flowId);
      if (cached !== undefined) return cached;
      known.delete(flowId);
      const target = await findWebhookTarget(db, flowId);
      if (target?.status === 'enabled' && target.currentVersionId !== null) {
        if (known.size >= maxEntries) {
          const oldest = known.keys().next().value;
          if (oldest !== undefined) known.delete(oldest);
        }
        known.set(flowId, target);
      }
      return target;
    },
  };
}
