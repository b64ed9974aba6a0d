import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionConnection } from '../../../runtime/db/session-connection';
import { forgetSighting, recordSighting } from '../../../runtime/db/worker-sightings-store';
import { sightedWorkers } from '../../../runtime/metrics/live-workers';
import { createTestDatabase, type TestDatabase } from '../../support/database';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

describe('sightedWorkers (the sqs queue)', () => {
  it('counts the workers seen within its window, and drops one seen earlier or stopped', async () => {
    const live = sightedWorkers(database.handle.db, 600);
    expect(live.seenWithinS).toBe(600);
    expect(await live.count()).toBe(0);
    const session = createSessionConnection({
      access: { url: database.url },
      applicationName: 'live-workers-test',
    });
    try {
      await recordSighting(session, 'worker-1');
      await recordSighting(session, 'worker-2');
      // Seen again: still one worker.
      await recordSighting(session, 'worker-2');
      expect(await live.count()).toBe(2);
      await session.query(
        `update worker_sightings set seen_at = now() - interval '601 seconds' where worker_id = 'worker-1'`,
      );
      expect(await live.count()).toBe(1);
      await forgetSighting(session, 'worker-2');
      expect(await live.count()).toBe(0);
    } finally {
      await session.close();
    }
  });
});
