import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rssMb } from '../../scripts/bench/proc-stats';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../support/database';
import { codeFlow } from '../support/flows';
import { acceptRunOverHttp, createFlowOverHttp } from '../support/flows-over-http';
import { pollJson, type SluiceProcess, startSluice } from '../support/processes';
import { querySql } from '../support/sql';

/** Real app and worker processes from the bundle, on PostgreSQL and Redis, with small caps. */
const API_KEY = 'sk_security_hostile_code_0123456789';
const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };
const CAP_MS = 300;
const FOREVER = 'for (;;) {}';
const TRAPS_NEVER_RETURN = `new Proxy({}, { get: () => () => { ${FOREVER} } })`;

interface SyncAnswer {
  status: number;
  body: { runId?: string; status?: string; error?: string } & Record<string, unknown>;
  ms: number;
}

let database: TestDatabase;
let dataDir: string;
let app: SluiceProcess;
let base: string;
let shared: Record<string, string>;
const started: SluiceProcess[] = [];

const startWorker = async (env: Record<string, string> = {}) => {
  const worker = await startSluice({ ...shared, SLUICE_ROLE: 'worker', ...env });
  started.push(worker);
  return worker;
};

const createFlow = (definition: unknown) => createFlowOverHttp(base, auth, definition);

async function runSync(code: string, body: unknown = {}): Promise<SyncAnswer> {
  const flowId = await createFlow(codeFlow(code));
  const startedAt = performance.now();
  const res = await fetch(`${base}/v1/webhooks/${flowId}/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as SyncAnswer['body'],
    ms: performance.now() - startedAt,
  };
}

async function runAsync(code: string): Promise<string> {
  return acceptRunOverHttp(base, await createFlow(codeFlow(code)));
}

const runUntil = (runId: string, until: (run: { status: string }) => boolean) =>
  pollJson<{ status: string }>(`${base}/v1/runs/${runId}`, { headers: auth }, until, 10_000);

/** Ends the run in its row, so that no later worker of this file takes its job up again. */
const cancel = (runId: string) =>
  querySql(database.url, "update runs set status = 'canceled', finished_at = now() where id = $1", [
    runId,
  ]);

const exited = (worker: SluiceProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) {
      resolve({ code: worker.child.exitCode, signal: worker.child.signalCode });
    } else worker.child.once('exit', (code, signal) => resolve({ code, signal }));
  });

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-hostile-'));
  shared = {
    DATABASE_URL: database.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
    SLUICE_DATA_DIR: dataDir,
    SLUICE_LOCAL_SIGNING_SECRET: 'hostile-code-test-signing-secret-0123456789',
    SLUICE_CODE_TIMEOUT_MS: String(CAP_MS),
    SLUICE_CODE_MEMORY_MB: '16',
    SLUICE_WEBHOOK_TIMEOUT_S: '10',
  };
  app = await startSluice({
    ...shared,
    SLUICE_ROLE: 'app',
    PORT: '0',
    HOST: '127.0.0.1',
    SLUICE_API_KEY: API_KEY,
  });
  base = `http://127.0.0.1:${app.port}`;
}, 60_000);

afterAll(async () => {
  await Promise.all([app, ...started].filter(Boolean).map((p) => p.stop('SIGKILL')));
  await database?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a worker that runs hostile code steps', () => {
  it('runs the next flow quickly and correctly after each of them', async () => {
    const worker = await startWorker();
    const idleRssMb = rssMb(worker.child.pid ?? 0);
    const hostile = {
      proxyThrown: `export default () => { throw ${TRAPS_NEVER_RETURN} }`,
      proxyThrownAtTopLevel: `throw ${TRAPS_NEVER_RETURN};\nexport default () => 1`,
      getterNeverReturns: `export default async () => { throw { get message() { ${FOREVER} } } }`,
      prepareStackTrace: `Error.prepareStackTrace = () => { ${FOREVER} };\nexport default () => { throw new Error('x') }`,
      thenAfterReturn: `export default () => { Promise.resolve().then(() => { ${FOREVER} }); return 1 }`,
      thenable: `export default () => ({ then() { ${FOREVER} } })`,
      waitAsync:
        'export default () => Atomics.waitAsync(new Int32Array(new SharedArrayBuffer(16)), 0, 0, 10)',
      wasmMemory:
        'export default () => { const k = []; for (let i = 0; i < 4; i++) k.push(new WebAssembly.Memory({ initial: 4096 })); return k.length }',
      buffers: 'export default () => { const k = []; for (;;) k.push(new ArrayBuffer(1 << 22)) }',
    };
    for (const [name, code] of Object.entries(hostile)) {
      const answer = await runSync(code);
      expect(answer.status, name).toBe(500);
      expect(answer.ms, name).toBeLessThan(CAP_MS + 2000);
      const n = Math.floor(Math.random() * 1000);
      const next = await runSync('export default ({ trigger }) => trigger.body.n * 2', { n });
      expect({ name, status: next.status, body: next.body }).toEqual({
        name,
        status: 200,
        body: n * 2,
      });
      expect(next.ms, name).toBeLessThan(1000);
    }
    expect(worker.child.exitCode).toBeNull();
    expect(rssMb(worker.child.pid ?? 0)).toBeLessThan(idleRssMb * 2);
    await worker.stop('SIGKILL');
  });

  it('ends itself with one log line when V8 gives up on an isolate; another worker runs on', async () => {
    const doomed = await startWorker();
    const end = exited(doomed);
    const runId = await runAsync(
      'export default () => { const m = new Map(); for (let i = 0; ; i++) m.set(i, [i]) }',
    );
    expect(await end).toEqual({ code: null, signal: 'SIGKILL' });
    await cancel(runId);
    const fatal = doomed
      .output()
      .split('\n')
      .filter((line) => line.includes('"level":60'));
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toContain('a code-step isolate cannot be reclaimed');

    const next = await startWorker();
    const answer = await runSync('export default ({ trigger }) => trigger.body.n * 2', { n: 21 });
    expect(answer).toMatchObject({ status: 200, body: 42 });
    await next.stop('SIGKILL');
  });
});

describe('SIGTERM to a worker whose code step misbehaves', () => {
  it('ends the worker within its drain window, the run handed back', async () => {
    for (const code of [
      `export default () => { ${FOREVER} }`,
      `export default () => { Promise.reject(${TRAPS_NEVER_RETURN}); (async () => { for (;;) await null })(); return 1 }`,
    ]) {
      // A cap far longer than the drain window: only the drain deadline can end this step.
      const worker = await startWorker({
        SLUICE_CODE_TIMEOUT_MS: '60000',
        SLUICE_DRAIN_TIMEOUT_S: '1',
      });
      const runId = await runAsync(code);
      await runUntil(runId, (run) => run.status === 'running');

      const signalledAt = performance.now();
      const exitCode = await worker.stop('SIGTERM');
      const tookMs = performance.now() - signalledAt;
      expect(exitCode, code).toBe(0);
      expect(tookMs, code).toBeLessThan(1000 + 2000);
      expect(worker.output(), code).toContain('runs handed back to the queue');
      await runUntil(runId, (run) => run.status === 'queued');
      await cancel(runId);
    }
  });
});
