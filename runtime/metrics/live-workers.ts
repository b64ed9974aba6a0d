import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';

/**
 * How many workers are alive right now, as the queue sees them: for the console's System page.
 * Null when nobody counts them (embedded mode runs its worker inside the APP's process).
 */
export interface LiveWorkers {
  count(): Promise<number | null>;
  close(): Promise<void>;
}

/** With sqs, each worker holds a PostgreSQL session named `sessionName` while it is alive. */
export function pgSessionWorkers(db: Database, sessionName: string): LiveWorkers {
  return {
    async count() {
      const result = (await db.execute(
        sql`select count(*)::int as workers from pg_stat_activity
            where datname = current_database() and application_name = ${sessionName}`,
      )) as unknown as { rows: { workers: number }[] };
      return Number(result.rows[0]?.workers ?? 0);
    },
    close: async () => undefined,
  };
}

export const uncountedWorkers: LiveWorkers = {
  count: async () => null,
  close: async () => undefined,
};
