import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres, type DatabaseHandle } from '../../../runtime/db/client';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey } from '../../../runtime/db/project-store';
import {
  finishQueuedRun,
  finishRun,
  insertWebhookRuns,
  type RunResult,
  startRun,
} from '../../../runtime/db/run-store';
import { finishWithNotice } from '../../../runtime/worker/finish-with-notice';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { querySql } from '../../support/sql';

const CHANNEL = 'sluice:reply:outcome-notify-test';

let database: TestDatabase;
let handle: DatabaseHandle;
let listener: pg.Client;
let projectId: string;
let flowId: string;
let flowVersionId: string;
const received: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  handle = connectPostgres({ url: database.url, poolSize: 2, idleTimeoutMs: 1000 });
  ({ projectId } = await createProjectWithKey(handle.db, {
    name: 'p',
    apiKey: 'sk_test_notify_0123456789abcdef',
  }));
  const flow = await createFlow(handle.db, {
    projectId,
    name: 'n',
    definition: {},
    webhookSecret: null,
  });
  flowId = flow.id;
  flowVersionId = flow.versionId;
  listener = new pg.Client({ connectionString: database.url });
  await listener.connect();
  listener.on('notification', (message) => received.push(message.payload ?? ''));
  await listener.query(`LISTEN "${CHANNEL}"`);
});
afterAll(async () => {
  await listener.end();
  await handle.close();
  await database.drop();
});

const result: RunResult = {
  status: 'succeeded',
  error: null,
  failedStep: null,
  logKey: null,
  logBody: null,
  responseStatus: 200,
  response: { ok: true },
  steps: [],
  dispatchMs: 1,
};

const newRun = async () => {
  const id = crypto.randomUUID();
  await insertWebhookRuns(handle.db, [{ id, flowId, triggerJson: '{}', webhookSecret: null }]);
  return id;
};

/** The notifications that arrived up to and including the one carrying `last`. */
async function receivedThrough(last: string): Promise<string[]> {
  const deadline = Date.now() + 5000;
  while (!received.includes(last)) {
    if (Date.now() > deadline) throw new Error(`no notification "${last}"; got ${received}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return received.splice(0, received.indexOf(last) + 1);
}

describe("a run outcome's notify", () => {
  it('is sent by the fenced finish that records the outcome, and by no other', async () => {
    const id = await newRun();
    await startRun(handle.db, id);
    await startRun(handle.db, id); // attempt 2 owns the run now
    const notice = (payload: string) => ({ channel: CHANNEL, payload });
    expect(await finishRun(handle.db, id, 1, result, notice('stale attempt'))).toBe(false);
    expect(await finishRun(handle.db, id, 2, result, notice('owner'))).toBe(true);
    expect(await finishRun(handle.db, id, 2, result, notice('again'))).toBe(false); // ended
    const barrier = await newRun();
    await startRun(handle.db, barrier);
    expect(await finishRun(handle.db, barrier, 1, result, notice('barrier'))).toBe(true);
    // Notifications arrive in commit order: anything the refused calls sent would come first.
    expect(await receivedThrough('barrier')).toEqual(['owner', 'barrier']);
  });

  it('is sent by the claim-and-finish of a queued run, and not when the copy is stale', async () => {
    const id = await newRun();
    const copy = { projectId, flowVersionId, attempt: 0 };
    const notice = { channel: CHANNEL, payload: '{"runId":"unclaimed"}' };
    const stale = { ...copy, flowVersionId: crypto.randomUUID() };
    expect(await finishQueuedRun(handle.db, id, stale, { ...result, flowMs: 1 }, notice)).toBe(
      false,
    );
    expect(await finishQueuedRun(handle.db, id, copy, { ...result, flowMs: 1 }, notice)).toBe(true);
    expect(await receivedThrough(notice.payload)).toEqual([notice.payload]);
  });

  it('is nothing at all without a channel', async () => {
    const id = await newRun();
    await startRun(handle.db, id);
    expect(await finishRun(handle.db, id, 1, result)).toBe(true);
    const barrier = await newRun();
    await startRun(handle.db, barrier);
    await finishRun(handle.db, barrier, 1, result, { channel: CHANNEL, payload: 'after' });
    expect(await receivedThrough('after')).toEqual(['after']);
  });
});

describe('finishWithNotice', () => {
  it('records the outcome without the notice when PostgreSQL refuses the notice', async () => {
    const id = await newRun();
    await startRun(handle.db, id);
    // NOTIFY refuses a payload of 8000 bytes or more, as it refuses any NOTIFY while its queue
    // is full: either way the outcome must still be recorded.
    const refused = { channel: CHANNEL, payload: 'x'.repeat(9000) };
    const finished = await finishWithNotice(
      (notice) => finishRun(handle.db, id, 1, result, notice),
      refused,
    );
    expect(finished).toEqual({ recorded: true, replied: false });
    const [row] = await querySql<{ status: string }>(
      database.url,
      'select status from runs where id = $1',
      [id],
    );
    expect(row?.status).toBe('succeeded');

    const sent = await newRun();
    await startRun(handle.db, sent);
    const notice = { channel: CHANNEL, payload: 'sent with the outcome' };
    expect(await finishWithNotice((n) => finishRun(handle.db, sent, 1, result, n), notice)).toEqual(
      { recorded: true, replied: true },
    );
    expect(await receivedThrough(notice.payload)).toEqual([notice.payload]);
  });

  it('passes on an error that is not a refusal, without a second try', async () => {
    let tries = 0;
    const lost = new Error('Connection terminated unexpectedly');
    await expect(
      finishWithNotice(
        async () => {
          tries++;
          throw lost;
        },
        { channel: CHANNEL, payload: 'p' },
      ),
    ).rejects.toBe(lost);
    expect(tries).toBe(1);
  });
});
