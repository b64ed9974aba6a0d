import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionConnection } from '../../../runtime/db/session-connection';
import { createPgReplyBus } from '../../../runtime/queue/pg-reply-bus';
import { createIdleWatch } from '../../../runtime/reliability/idle-watch';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { querySql } from '../../support/sql';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

const listeners = async () =>
  (
    await querySql<{ n: number }>(
      database.url,
      `select count(*)::int as n from pg_stat_activity
        where datname = current_database() and application_name = 'sluice-replies'`,
    )
  )[0]?.n ?? 0;

describe('the PostgreSQL reply bus with an idle watch', () => {
  it('closes its LISTEN session while quiet, and listens again before work goes on', async () => {
    const idle = createIdleWatch({ quietMs: 100, logger: pino({ level: 'silent' }) });
    const app = await createPgReplyBus(
      database.handle.db,
      `idle-${randomUUID()}`,
      (options) => createSessionConnection({ access: { url: database.url }, ...options }),
      idle,
    );
    const worker = await createPgReplyBus(database.handle.db, `worker-${randomUUID()}`, null);
    try {
      expect(await listeners()).toBe(1);
      // The probe (every 2 s) finds the process quiet and closes the session.
      const deadline = Date.now() + 6000;
      while ((await listeners()) > 0 && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 100));
      }
      expect(await listeners()).toBe(0);

      // The publisher's connection is warm, so its NOTIFY goes out at once.
      await worker.publish('nobody', { runId: randomUUID(), status: 'succeeded' });
      const work = await idle.begin();
      // No wait for a probe: the reply published right away reaches the waiter.
      const runId = randomUUID();
      const wait = app.waitFor(runId, 3000);
      await worker.publish(app.channel, { runId, status: 'succeeded', body: { ok: true } });
      expect(await wait.reply).toMatchObject({ runId, body: { ok: true } });
      work.end();
      expect(await listeners()).toBe(1);
    } finally {
      await app.close();
      await worker.close();
    }
  });
});
