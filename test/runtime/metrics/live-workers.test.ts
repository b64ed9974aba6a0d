import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSessionWorkers } from '../../../runtime/metrics/live-workers';
import { createTestDatabase, type TestDatabase } from '../../support/database';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await database?.drop();
});

describe('pgSessionWorkers (the sqs queue)', () => {
  it('counts the sessions named for workers in this database, and drops one that closes', async () => {
    const name = `sluice-worker-test-${process.pid}`;
    const live = pgSessionWorkers(database.handle.db, name);
    expect(await live.count()).toBe(0);
    const sessions = Array.from(
      { length: 2 },
      () => new pg.Client({ connectionString: database.url, application_name: name }),
    );
    await Promise.all(sessions.map((client) => client.connect()));
    try {
      expect(await live.count()).toBe(2);
      await sessions[0]?.end();
      expect(await live.count()).toBe(1);
    } finally {
      await Promise.all(sessions.map((client) => client.end().catch(() => undefined)));
    }
  });
});
