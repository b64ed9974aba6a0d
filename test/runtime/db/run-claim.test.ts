import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres, type DatabaseHandle } from '../../../runtime/db/client';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey } from '../../../runtime/db/project-store';
import { finishRun, insertWebhookRuns, startRun } from '../../../runtime/db/run-store';
import { createTestDatabase, type TestDatabase } from '../../support/database';

let database: TestDatabase;
// One connection, so every statement below runs in the same session.
let single: DatabaseHandle;
let flowId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  single = connectPostgres({ url: database.url, poolSize: 1, idleTimeoutMs: 1000 });
  const { projectId } = await createProjectWithKey(single.db, {
    name: 'p',
    apiKey: 'sk_test_claim_0123456789abcdef',
  });
  ({ id: flowId } = await createFlow(single.db, {
    projectId,
    name: 'n',
    definition: {},
    webhookSecret: null,
  }));
});
afterAll(async () => {
  await single.close();
  await database.drop();
});

const newRun = async () => {
  const id = crypto.randomUUID();
  await insertWebhookRuns(single.db, [{ id, flowId, triggerJson: '{}', webhookSecret: null }]);
  return id;
};

describe('startRun', () => {
  it('claims a queued run once per attempt and refuses a run that ended', async () => {
    const id = await newRun();
    const first = await startRun(single.db, id);
    expect(first?.attempt).toBe(1);
    const again = await startRun(single.db, id);
    expect(again?.attempt).toBe(2);
    const result = {
      status: 'succeeded' as const,
      error: null,
      failedStep: null,
      logKey: null,
      logBody: null,
      responseStatus: 200,
      response: { ok: true },
      steps: [],
      dispatchMs: 1.25,
    };
    expect(await finishRun(single.db, id, 1, result)).toBe(false); // fenced: attempt 2 owns it
    expect(await finishRun(single.db, id, 2, result)).toBe(true);
    expect(await startRun(single.db, id)).toBeNull();
  });

  it('turns synchronous_commit off for its own transaction only', async () => {
    await startRun(single.db, await newRun());
    const { rows } = (await single.db.execute(sql`show synchronous_commit`)) as {
      rows: { synchronous_commit: string }[];
    };
    expect(rows[0]?.synchronous_commit).toBe('on');
  });
});
