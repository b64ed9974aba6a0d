import { and, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database } from '../db/client';
import { runs } from '../db/schema';
import type { FileStore } from '../storage';

export interface RunLogWriter {
  /** Starts storing a run's log; waits only when `maxInFlight` uploads are already going. */
  write(entry: { runId: string; attempt: number; key: string; body: string }): Promise<void>;
  /** Resolves once every started upload has finished (used when draining on SIGTERM). */
  drain(): Promise<void>;
}

/**
 * Stores run logs off the run's critical path. An S3 PUT costs more than a whole small flow,
 * so the run is recorded and answered first and its log follows. If the upload fails, the run
 * row's log key is cleared so no URL points at a missing object. A worker killed in that
 * window loses the log, never the run.
 */
export function createRunLogWriter(deps: {
  db: Database;
  store: FileStore;
  logger: Logger;
  maxInFlight?: number;
}): RunLogWriter {
  const maxInFlight = deps.maxInFlight ?? 16;
  const inFlight = new Set<Promise<void>>();

  const upload = async (entry: Parameters<RunLogWriter['write']>[0]) => {
    try {
      await deps.store.put(entry.key, entry.body, { contentType: 'application/json' });
    } catch (error) {
      deps.logger.error({ err: error, runId: entry.runId }, 'run log could not be stored');
      await deps.db
        .update(runs)
        .set({ logKey: null })
        .where(and(eq(runs.id, entry.runId), eq(runs.attempt, entry.attempt)))
        .catch(() => undefined);
    }
  };

  return {
    async write(entry) {
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      const pending = upload(entry).finally(() => inFlight.delete(pending));
      inFlight.add(pending);
    },
    async drain() {
      await Promise.all(inFlight);
    },
  };
}
