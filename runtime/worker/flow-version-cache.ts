import type { Database } from '../db/client';
import { loadFlowDefinition } from '../db/flow-store';
import { type FlowDefinition, parseFlowDefinition } from '../engine';
import { InvalidFlowVersionError } from './invalid-flow-version-error';

/**
 * Flow versions are immutable, so a parsed definition can be kept for the life of the
 * process. Bounded so a worker that sees many flows does not grow without limit.
 */
export function createFlowVersionCache(db: Database, maxEntries = 500) {
  const cache = new Map<string, FlowDefinition>();
  return async function loadFlowVersion(versionId: string): Promise<FlowDefinition> {
    const cached = cache.get(versionId);
    if (cached !== undefined) return cached;
    const raw = await loadFlowDefinition(db, versionId);
    if (raw === null) throw new InvalidFlowVersionError(versionId, 'version not found');
    const parsed = parseFlowDefinition(raw);
    if (!parsed.ok) {
      const first = parsed.issues[0];
      throw new InvalidFlowVersionError(versionId, `${first?.path}: ${first?.message}`);
    }
    if (cache.size >= maxEntries) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(versionId, parsed.value);
    return parsed.value;
  };
}
