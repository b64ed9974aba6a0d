import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_QUEUE_NAME } from '../../../runtime/queue/run-queue';
import { doubleFlow } from '../../support/flows';
import { querySql } from '../../support/sql';
import { startTestStack, type TestStack } from '../../support/stack';

let stack: TestStack;
let jobs: Queue;
let flowId: string;

beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
  jobs = new Queue(RUN_QUEUE_NAME, {
    prefix: stack.env.SLUICE_QUEUE_PREFIX,
    connection: { host: '127.0.0.1', port: 6379 },
  });
  const res = await stack.call('POST', '/v1/flows', doubleFlow);
  flowId = ((await res.json()) as { id: string }).id;
});
afterAll(async () => {
  await jobs.obliterate({ force: true });
  await jobs.close();
  await stack.close();
});

const fire = async (key?: string) => {
  const res = await stack.api.request(`/v1/webhooks/${flowId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: '{"n":1}',
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
};

const runsWithKey = async (key: string) => {
  const rows = await querySql(
    stack.database.url,
    'select id from runs where idempotency_key = $1',
    [key],
  );
  return rows.length;
};

describe('Idempotency-Key on async webhooks', () => {
  it('returns the same runId for the same key and enqueues nothing new', async () => {
    const first = await fire('order-1');
    const waitingBefore = await jobs.getWaitingCount();
    const again = await Promise.all([fire('order-1'), fire('order-1'), fire('order-1')]);
    expect(again).toEqual([first, first, first]);
    expect(await runsWithKey('order-1')).toBe(1);
    expect(await jobs.getWaitingCount()).toBe(waitingBefore);
  });

  it('starts a new run for a different key, or for no key', async () => {
    const a = await fire('order-2');
    const b = await fire('order-3');
    const c = await fire();
    const d = await fire();
    expect(new Set([a, b, c, d]).size).toBe(4);
  });

  it('treats concurrent first requests with one key as one run', async () => {
    const ids = await Promise.all(Array.from({ length: 8 }, () => fire('order-race')));
    expect(new Set(ids).size).toBe(1);
    expect(await runsWithKey('order-race')).toBe(1);
  });

  it('starts a new run when the key was last used more than 24 h ago', async () => {
    const old = await fire('order-4');
    await querySql(
      stack.database.url,
      "update runs set created_at = now() - interval '25 hours' where id = $1",
      [old],
    );
    const fresh = await fire('order-4');
    expect(fresh).not.toBe(old);
    expect(await fire('order-4')).toBe(fresh);
  });

  it('answers 400 for a key longer than 255 characters', async () => {
    const res = await stack.api.request(`/v1/webhooks/${flowId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k'.repeat(256) },
      body: '{}',
    });
    expect(res.status).toBe(400);
  });
});
