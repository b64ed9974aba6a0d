import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { branchStep } from '../runtime/engine/flow-fixtures';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../support/database';
import { createFlowOverHttp } from '../support/flows-over-http';
import { type HttpStub, startHttpStub } from '../support/http-stub';
import { type SluiceProcess, startSluice } from '../support/processes';

/**
 * A template copies a value, so a few bytes of flow definition can place a webhook caller's
 * large field many times over in what a step resolves: an http request, a branch condition, a
 * loop's items. Serialising that (to send it, and to record the step's input) built about
 * 400 MB several times over from a 20 MiB field: a worker with a 384 MB heap died (SIGABRT)
 * and later sync runs got 504 until it was replaced; text templates repeated past V8's longest
 * string ended as "an internal error". The step must end `limit_exceeded` before anything that
 * large is built, and the worker must go on running flows.
 */
const API_KEY = 'sk_security_input_amplification_0123456789';
const WORKER_HEAP_MB = 384;
const MiB = 1024 * 1024;
const LARGE = `{{trigger.body.s}}`;

let database: TestDatabase;
let stub: HttpStub;
let app: SluiceProcess;
let worker: SluiceProcess;
let base: string;
const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

beforeAll(async () => {
  database = await createTestDatabase();
  stub = await startHttpStub(({ body }) => ({ status: 200, body: `{"received":${body.length}}` }));
  const shared = {
    DATABASE_URL: database.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
    // Storing a 21 MB trigger can outlast the default 2 s query bound on a busy test machine.
    SLUICE_DB_QUERY_TIMEOUT_MS: '20000',
  };
  [app, worker] = await Promise.all([
    startSluice({
      ...shared,
      SLUICE_ROLE: 'app',
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_API_KEY: API_KEY,
      SLUICE_WEBHOOK_TIMEOUT_S: '20',
    }),
    // A heap the size of a small worker task's, so that building the amplified value kills it.
    startSluice({ ...shared, SLUICE_ROLE: 'worker', SLUICE_HTTP_ALLOW_PRIVATE: 'true' }, 20_000, [
      `--max-old-space-size=${WORKER_HEAP_MB}`,
    ]),
  ]);
  base = `http://127.0.0.1:${app.port}`;
}, 60_000);

afterAll(async () => {
  await Promise.all([app, worker].filter(Boolean).map((p) => p.stop('SIGKILL')));
  await stub?.close();
  await database?.drop();
});

async function runSync(steps: unknown[], body: unknown) {
  const flowId = await createFlowOverHttp(base, auth, {
    name: 'amplified',
    trigger: { type: 'webhook' },
    steps,
  });
  const res = await fetch(`${base}/v1/webhooks/${flowId}/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, answer: (await res.json()) as Record<string, unknown> };
}

const post = (fields: Record<string, unknown>) => ({
  id: 'send',
  type: 'http',
  method: 'POST',
  url: stub.url,
  ...fields,
});

describe('a step whose templates repeat one large value', () => {
  // 20 copies of a 20 MiB field: 400 MiB of JSON from a 21 MB webhook.
  const copies = Array<string>(20).fill(LARGE);
  it.each([
    ['an http request body', () => [post({ body: copies })]],
    [
      'http request headers',
      () => [post({ headers: Object.fromEntries(copies.map((ref, i) => [`x-${i}`, ref])) })],
    ],
    ['an http url', () => [post({ url: `${stub.url}/?q=${copies.join('')}` })]],
    ['a branch condition', () => [branchStep('send', { left: copies, op: 'exists' }, [])]],
    ['a loop\u2019s items', () => [{ id: 'send', type: 'loop', items: copies, steps: [] }]],
  ])('ends the run limit_exceeded naming maxRunLogBytes: %s', async (_what, steps) => {
    const before = stub.requests.length;
    const { status, answer } = await runSync(steps(), { s: 'x'.repeat(20 * MiB) });
    expect(status).toBe(500);
    expect(answer).toMatchObject({ status: 'limit_exceeded', failedStep: 'send' });
    expect(answer.error).toContain('maxRunLogBytes');
    expect(stub.requests.length).toBe(before);
  });

  it('measures what a value serialises to, not its length: control characters', async () => {
    // 11 copies of 4 Mi control characters, each written as \u0001: 264 MiB of JSON from a
    // 24 MiB webhook, though the strings hold only 44 Mi characters.
    const steps = [branchStep('send', { left: Array(11).fill(LARGE), op: 'exists' }, [])];
    const { status, answer } = await runSync(steps, { s: '\u0001'.repeat(4 * MiB) });
    expect(status).toBe(500);
    expect(answer).toMatchObject({ status: 'limit_exceeded', failedStep: 'send' });
    expect(answer.error).toContain('maxRunLogBytes');
  });

  it('ends a text template repeated past the longest string limit_exceeded', async () => {
    // 48 copies of 12 MiB in one string: 576 Mi characters, past V8's longest string.
    const text = Array<string>(48).fill(LARGE).join('');
    const { status, answer } = await runSync([post({ body: { text } })], {
      s: 'x'.repeat(12 * MiB),
    });
    expect(status).toBe(500);
    expect(answer).toMatchObject({ status: 'limit_exceeded', failedStep: 'send' });
    expect(answer.error).toContain('maxRunLogBytes');
  });

  it('still forwards a whole large webhook body once', async () => {
    const { status, answer } = await runSync([post({ body: '{{trigger.body}}' })], {
      s: 'x'.repeat(20 * MiB),
    });
    expect(status).toBe(200);
    expect(answer).toMatchObject({ status: 200, body: { received: 20 * MiB + 8 } });
  });

  it('leaves the worker running the next flow', async () => {
    const { status, answer } = await runSync(
      [{ id: 'reply', type: 'respond', body: { n: '{{trigger.body.n}}' } }],
      { n: 7 },
    );
    expect({ status, answer }).toEqual({ status: 200, answer: { n: 7 } });
    expect(worker.child.exitCode).toBeNull();
    expect(worker.child.signalCode).toBeNull();
  });
});
