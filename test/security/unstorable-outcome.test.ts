import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runs } from '../../runtime/db/schema';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../support/database';
import { codeFlow } from '../support/flows';
import { createFlowOverHttp } from '../support/flows-over-http';
import { type HttpStub, startHttpStub } from '../support/http-stub';
import { type SluiceProcess, startSluice } from '../support/processes';

/**
 * Outputs and errors a flow produces are the flow's (or a remote server's) to choose. Before the
 * fix, an unpaired surrogate in one made the outcome unrecordable: finishRun failed, the sync
 * caller got 504, the run executed again (its side effects twice) and ended worker_lost, with
 * the SQL and its parameters in the log.
 */
const API_KEY = 'sk_security_unstorable_0123456789abcdef';

let database: TestDatabase;
let stub: HttpStub;
let app: SluiceProcess;
let worker: SluiceProcess;
let base: string;
const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

beforeAll(async () => {
  database = await createTestDatabase();
  stub = await startHttpStub();
  const shared = {
    DATABASE_URL: database.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
  };
  [app, worker] = await Promise.all([
    startSluice({
      ...shared,
      SLUICE_ROLE: 'app',
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_API_KEY: API_KEY,
    }),
    startSluice({ ...shared, SLUICE_ROLE: 'worker', SLUICE_HTTP_ALLOW_PRIVATE: 'true' }),
  ]);
  base = `http://127.0.0.1:${app.port}`;
}, 60_000);

afterAll(async () => {
  await Promise.all([app, worker].filter(Boolean).map((p) => p.stop('SIGKILL')));
  await stub?.close();
  await database?.drop();
});

const createFlow = (definition: unknown) => createFlowOverHttp(base, auth, definition);

async function callSync(flowId: string) {
  const res = await fetch(`${base}/v1/webhooks/${flowId}/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  return { status: res.status, text: await res.text() };
}

async function onlyRunOf(flowId: string) {
  const rows = await database.handle.db.select().from(runs).where(eq(runs.flowId, flowId));
  expect(rows).toHaveLength(1);
  return rows[0] as typeof runs.$inferSelect;
}

describe('a run whose outcome holds text PostgreSQL cannot store', () => {
  it.each([
    [
      'a lone high surrogate in an output value',
      'export default () => ({ s: "a\\ud800b" })',
      { s: 'a\ufffdb' },
    ],
    [
      'a lone low surrogate in an output key',
      'export default () => ({ ["k\\udc00"]: 1 })',
      { 'k\ufffd': 1 },
    ],
    ['a NUL in an output value', 'export default () => ({ s: "a\\u0000b" })', { s: 'a\ufffdb' }],
    ['half a pair at the end of a string', 'export default () => "x\\ud83d"', 'x\ufffd'],
  ])('records %s once, with U+FFFD in the stored copy', async (_what, code, stored) => {
    const flowId = await createFlow(codeFlow(code));
    const answer = await callSync(flowId);
    expect(answer.status).toBe(200);
    const run = await onlyRunOf(flowId);
    expect(run).toMatchObject({ status: 'succeeded', attempt: 1, response: stored });
  });

  it.each([
    [
      'a thrown message with a lone surrogate',
      'export default () => { throw new Error("bad \\udfff end") }',
    ],
    ['a thrown string with a NUL', 'export default () => { throw "nul \\u0000 end" }'],
  ])('records %s as the failed step error', async (_what, code) => {
    const flowId = await createFlow(codeFlow(code));
    const answer = await callSync(flowId);
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.text)).toMatchObject({ status: 'failed', failedStep: 'main' });
    const run = await onlyRunOf(flowId);
    expect(run).toMatchObject({ status: 'failed', attempt: 1, failedStep: 'main' });
    expect(run.error).toContain('end');
  });

  it('records a remote error body whose preview would split a surrogate pair, calling out once', async () => {
    stub.respond(() => ({ status: 500, body: `${'a'.repeat(199)}\u{1F600}${'b'.repeat(50)}` }));
    const flowId = await createFlow({
      name: 'remote-error',
      trigger: { type: 'webhook' },
      steps: [{ id: 'call', type: 'http', method: 'GET', url: stub.url }],
    });
    const before = stub.requests.length;
    const answer = await callSync(flowId);
    expect(answer.status).toBe(500);
    const run = await onlyRunOf(flowId);
    expect(run).toMatchObject({ status: 'failed', attempt: 1, failedStep: 'call' });
    expect(run.error).toContain('a'.repeat(199));
    expect(run.error).not.toMatch(/[\ud800-\udfff]/); // the pair was dropped whole, not split
    expect(stub.requests.length - before).toBe(1);
  });

  it('fails a step whose output nests deeper than the API accepts, naming why', async () => {
    const flowId = await createFlow(
      codeFlow(
        'export default () => { let v = 1; for (let i = 0; i < 5000; i++) v = [v]; return v; }',
      ),
    );
    const answer = await callSync(flowId);
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.text).error).toContain('nests objects and arrays deeper than 128');
    expect(await onlyRunOf(flowId)).toMatchObject({ status: 'failed', attempt: 1 });
  });

  it('fails an http step whose JSON response nests deeper than a stack can walk, naming why', async () => {
    // 200 KB of brackets: JSON.parse reads it, but serialising the output overflowed the
    // stack, and the run ended as "an internal error" instead of the output rule's failure.
    const depth = 100_000;
    stub.respond(() => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: `${'['.repeat(depth)}${']'.repeat(depth)}`,
    }));
    const flowId = await createFlow({
      name: 'remote-deep-json',
      trigger: { type: 'webhook' },
      steps: [{ id: 'call', type: 'http', method: 'GET', url: stub.url }],
    });
    const answer = await callSync(flowId);
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.text)).toMatchObject({ status: 'failed', failedStep: 'call' });
    expect(JSON.parse(answer.text).error).toContain('nests objects and arrays deeper than 128');
    expect(await onlyRunOf(flowId)).toMatchObject({ status: 'failed', attempt: 1 });
  });

  it('keeps SQL and its parameters out of the worker log', () => {
    expect(worker.output()).not.toMatch(/params:|insert into|update "runs"/i);
    expect(app.output()).not.toMatch(/params:|insert into/i);
  });
});
