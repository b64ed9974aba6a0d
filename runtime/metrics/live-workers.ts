import type { Database } from '../db/client';
import { workersSeen } from '../db/worker-sightings-store';

/**
 * How many workers are alive, as the queue sees them: for the console's System page. Null
 * when nobody counts them (embedded mode runs its worker inside the APP's process).
 */
export interface LiveWorkers {
  count(): Promise<number | null>;
  /**
   * Set when the count is of workers seen within this many seconds rather than connected
   * now (sqs: a worker resting while idle holds no connection to be seen by).
   */
  readonly seenWithinS?: number;
  close(): Promise<void>;
}

/** With sqs, each worker records a sighting while it holds its PostgreSQL session. */
export function sightedWorkers(db: Database, windowS: number): LiveWorkers {
  return {
    count: () => workersSeen(db, windowS),
    seenWithinS: windowS,
    close: async () => undefined,
  };
}

export const uncountedWorkers: LiveWorkers = {
  count: async () => null,
  close: async () => undefined,
};
