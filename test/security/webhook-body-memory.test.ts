import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../support/database';
import { createFlowOverHttp } from '../support/flows-over-http';
import { type SluiceProcess, startSluice } from '../support/processes';

/**
 * A webhook body costs the APP several times its size while it is read, parsed and stored
 * (the bytes, their text, the parsed value, the JSON to INSERT), and a dense one far more: 25
 * MiB of `[{},{},…]` parses to about 550 MB. An APP on its default task (1 GB, so V8 gives it
 * a heap of about 256 MB) died of "JavaScript heap out of memory" from one such body, or from
 * five concurrent plain ones, each within SLUICE_MAX_WEBHOOK_PAYLOAD_MB: every sync caller
 * waiting on it lost its answer. Bodies must be admitted against the heap instead: what does
 * not fit now is answered 503 with Retry-After, what never fits 413, and the APP lives on.
 */
const API_KEY = 'sk_security_webhook_body_memory_0123456';
/** What Node gives an APP on its default Fargate task: a quarter of 1 GB. */
const APP_HEAP_MB = 256;
const MiB = 1024 * 1024;
const NEAR_LIMIT = 25 * MiB - 64;

let database: TestDatabase;
let app: SluiceProcess;
let base: string;
let flowId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  app = await startSluice(
    {
      DATABASE_URL: database.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
      SLUICE_ROLE: 'app',
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_API_KEY: API_KEY,
      // Storing 25 MiB triggers can outlast the default 2 s query bound on a busy test machine.
      SLUICE_DB_QUERY_TIMEOUT_MS: '30000',
    },
    20_000,
    [`--max-old-space-size=${APP_HEAP_MB}`],
  );
  base = `http://127.0.0.1:${app.port}`;
  flowId = await createFlowOverHttp(
    base,
    { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    { name: 'large-bodies', trigger: { type: 'webhook' }, steps: [] },
  );
}, 60_000);

afterAll(async () => {
  await app?.stop('SIGKILL');
  await database?.drop();
});

/** A body sent as one stream, chunked (no Content-Length), or as a string. */
const chunked = (text: string) =>
  new Blob([text]).stream() as unknown as ReadableStream<Uint8Array>;

const post = (body: string | ReadableStream<Uint8Array>) =>
  fetch(`${base}/v1/webhooks/${flowId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    duplex: 'half',
  } as RequestInit).then(
    async (res) => ({
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      answer: (await res.json()) as { runId?: string; error?: { code: string } },
    }),
    (error: unknown) => ({
      status: 0,
      retryAfter: null,
      answer: { error: { code: String(error) } },
    }),
  );

async function expectAlive() {
  expect(app.child.exitCode, app.errors().slice(-2000)).toBeNull();
  expect(app.child.signalCode, app.errors().slice(-2000)).toBeNull();
  expect((await fetch(`${base}/v1/health`)).status).toBe(200);
}

async function runCount(): Promise<number> {
  const res = await fetch(`${base}/v1/runs?flowId=${flowId}&limit=200`, {
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  return ((await res.json()) as { runs: unknown[] }).runs.length;
}

describe('webhook bodies and the APP heap', () => {
  it('survives concurrent bodies at the size limit that together outgrow the heap', async () => {
    const body = `{"s":"${'x'.repeat(NEAR_LIMIT - 8)}"}`;
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(body)));

    await expectAlive();
    for (const { status, retryAfter, answer } of answers) {
      if (status === 202) continue;
      expect({ status, code: answer.error?.code }).toEqual({ status: 503, code: 'overloaded' });
      expect(retryAfter).toBe('1');
    }
    const accepted = answers.filter((a) => a.status === 202);
    expect(accepted.length).toBeGreaterThan(0);
    // Every 202 is a committed run; every 503 started none.
    expect(await runCount()).toBe(accepted.length);
    // A refused caller that retries alone is served.
    expect((await post(body)).status).toBe(202);
  }, 60_000);

  it('counts chunked bodies as they stream, with no length declared', async () => {
    const before = await runCount();
    const text = `{"s":"${'x'.repeat(NEAR_LIMIT - 8)}"}`;
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(chunked(text))));

    await expectAlive();
    const statuses = answers.map((a) => a.status);
    expect(statuses).toContain(202);
    expect(statuses).toContain(503);
    expect(statuses.every((status) => status === 202 || status === 503)).toBe(true);
    expect(await runCount()).toBe(before + statuses.filter((s) => s === 202).length);
  }, 60_000);

  it('survives a body at the size limit whose JSON parses to many times its size', async () => {
    const before = await runCount();
    const dense = `[${'{},'.repeat(Math.floor(NEAR_LIMIT / 3) - 1)}{}]`;
    const { status, answer } = await post(dense);

    await expectAlive();
    expect({ status, code: answer.error?.code }).toEqual({
      status: 413,
      code: 'payload_too_large',
    });
    expect(await runCount()).toBe(before);
  }, 60_000);
});
