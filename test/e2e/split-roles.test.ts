import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { codeFlow, doubleFlow, endlessFlow, slowFlow, throwingFlow } from '../support/flows';
import { createFlowOverHttp } from '../support/flows-over-http';
import {
  fetchEventually,
  freePort,
  pollJson,
  type SluiceProcess,
  startSluice,
} from '../support/processes';
import { QUEUE_BACKENDS, type QueueBackendEnv, startQueueBackend } from '../support/queue-backends';
import { type RunningS3rver, s3StorageEnv, startS3rver } from '../support/s3rver';

/**
 * One app and two workers from the built bundle, on PostgreSQL, s3rver and each queue: BullMQ
 * on Redis, and SQS (fauxqs) with no Redis at all.
 */
const API_KEY = 'sk_e2e_split_roles_key_0123456789';

describe.each(QUEUE_BACKENDS)('split roles from the bundle on %s', (backend) => {
  let database: TestDatabase;
  let queue: QueueBackendEnv;
  let s3: RunningS3rver;
  let app: SluiceProcess;
  let workers: SluiceProcess[];
  let base: string;

  const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
    [s3, queue] = await Promise.all([startS3rver(), startQueueBackend(backend)]);
    const shared = {
      DATABASE_URL: database.url,
      ...queue.env,
      ...s3StorageEnv(s3),
      SLUICE_WEBHOOK_TIMEOUT_S: '1',
    };
    // A known port, so that the URLs the app hands out (SLUICE_PUBLIC_URL) point at it.
    const appPort = await freePort();
    // Two processes start together: the advisory lock serialises their migrations.
    [app, ...workers] = await Promise.all([
      startSluice({
        ...shared,
        SLUICE_ROLE: 'app',
        PORT: String(appPort),
        SLUICE_PUBLIC_URL: `http://127.0.0.1:${appPort}`,
        HOST: '127.0.0.1',
        SLUICE_API_KEY: API_KEY,
        SLUICE_MAX_WEBHOOK_PAYLOAD_MB: '1',
      }),
      startSluice({
        ...shared,
        SLUICE_ROLE: 'worker',
        SLUICE_FLOW_TIMEOUT_S: '2',
        SLUICE_CODE_TIMEOUT_MS: '30000',
      }),
      startSluice({
        ...shared,
        SLUICE_ROLE: 'worker',
        SLUICE_FLOW_TIMEOUT_S: '2',
        SLUICE_CODE_TIMEOUT_MS: '30000',
      }),
    ]);
    base = `http://127.0.0.1:${app.port}`;
  }, 60_000);

  afterAll(async () => {
    await Promise.all([app, ...(workers ?? [])].filter(Boolean).map((p) => p.stop('SIGKILL')));
    await s3?.close();
    await queue?.close();
    await database?.drop();
  });

  const createFlow = (definition: unknown) => createFlowOverHttp(base, auth, definition);

  const webhook = (flowId: string, body: unknown, sync = true) =>
    fetch(`${base}/v1/webhooks/${flowId}${sync ? '/sync' : ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  type Run = { status: string; logUrl: string | null; attempt: number; error: string | null };
  const runUntil = (runId: string, done: (run: Run) => boolean) =>
    pollJson<Run>(`${base}/v1/runs/${runId}`, { headers: auth }, done);

  it('answers a sync webhook with the computed body', async () => {
    const flowId = await createFlow(doubleFlow);
    const res = await webhook(flowId, { n: 21 });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ doubled: 42 });
  });

  it('runs an async webhook to succeeded, with its small log kept in the row and served through its signed URL', async () => {
    const flowId = await createFlow(doubleFlow);
    const res = await webhook(flowId, { n: 5 }, false);
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const run = await runUntil(runId, (r) => r.status === 'succeeded');
    // Signed by the app for its own endpoint, fetched with no API key, as an S3 URL would be.
    expect(run.logUrl).toMatch(new RegExp(`^${base}/v1/run-logs/${runId}\\?expires=\\d+&sig=`));
    const served = await fetch(run.logUrl ?? '');
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('application/json');
    const log = (await served.json()) as { runId: string; status: string; log: unknown[] };
    expect(log).toMatchObject({ runId, status: 'succeeded' });
    expect(log.log).toHaveLength(2);
    expect(await s3.objectKeys()).not.toContainEqual(expect.stringContaining(runId));

    const tampered = run.logUrl?.replace(/sig=[0-9a-f]/, (m) =>
      m.endsWith('0') ? 'sig=1' : 'sig=0',
    );
    const refused = await fetch(tampered ?? '');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'invalid_signature' } });
  });

  it('puts a log over SLUICE_INLINE_LOG_MAX_BYTES in S3, readable through its pre-signed URL', async () => {
    // About 80 KB of output: over the 64 KiB default.
    const flowId = await createFlow(codeFlow("export default () => 'x'.repeat(80000)", 'big-log'));
    const res = await webhook(flowId, {}, false);
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const run = await runUntil(runId, (r) => r.status === 'succeeded');
    expect(run.logUrl).toContain(s3.endpoint);
    const log = (await (await fetchEventually(run.logUrl ?? '')).json()) as {
      runId: string;
      log: { output: string }[];
    };
    expect(log.runId).toBe(runId);
    expect(log.log[0]?.output).toHaveLength(80000);
  });

  it('answers 500 within 1 s when a code step fails', async () => {
    const flowId = await createFlow(throwingFlow);
    const started = Date.now();
    const res = await webhook(flowId, {});
    expect(res.status).toBe(500);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await res.json()).toMatchObject({
      failedStep: 'main',
      error: expect.stringContaining('boom'),
    });
  });

  it('answers 504 for a flow that outlives SLUICE_WEBHOOK_TIMEOUT_S=1, and the run later succeeds', async () => {
    const flowId = await createFlow(slowFlow(1500));
    const res = await webhook(flowId, {});
    expect(res.status).toBe(504);
    const { runId } = (await res.json()) as { runId: string };
    await runUntil(runId, (r) => r.status === 'succeeded');
  });

  it('turns an endless code step into timed_out at SLUICE_FLOW_TIMEOUT_S', async () => {
    const flowId = await createFlow(endlessFlow);
    const res = await webhook(flowId, {}, false);
    const { runId } = (await res.json()) as { runId: string };
    const run = await runUntil(runId, (r) => r.status !== 'queued' && r.status !== 'running');
    expect(run.status).toBe('timed_out');
    // The worker that ran it is still serving.
    const after = await webhook(await createFlow(codeFlow('export default () => 7')), {});
    expect(await after.json()).toBe(7);
  });

  it('cancels an endless code step running in a worker process within 1 s, and that worker records its step', async () => {
    const flowId = await createFlow(endlessFlow);
    const { runId } = (await (await webhook(flowId, {}, false)).json()) as { runId: string };
    await runUntil(runId, (r) => r.status === 'running');
    const canceledAt = performance.now();
    const cancel = await fetch(`${base}/v1/runs/${runId}/cancel`, {
      method: 'POST',
      headers: auth,
    });
    expect(cancel.status).toBe(202);
    // The API ends the row at once; the worker, in another process, proves it stopped by adding
    // the step it was in. Without the cancel the run would end timed_out at 2 s.
    type Stepped = Run & { steps: { stepId: string }[] | null };
    const stopped = await pollJson<Stepped>(
      `${base}/v1/runs/${runId}`,
      { headers: auth },
      (r) => (r.steps ?? []).length > 0,
      5000,
    );
    const latencyMs = performance.now() - canceledAt;
    expect(stopped).toMatchObject({ status: 'canceled', error: 'canceled by request' });
    expect(stopped.steps?.map((step) => step.stepId)).toEqual(['main']);
    expect(latencyMs).toBeLessThan(1000);
    // The isolate was freed: both workers still serve.
    const after = await webhook(await createFlow(codeFlow('export default () => 8')), {});
    expect(await after.json()).toBe(8);
  });

  it('stops cleanly on SIGTERM: the worker exits 0', async () => {
    const worker = workers.pop();
    const code = await worker?.stop('SIGTERM');
    const ending = `signal ${worker?.child.signalCode}; last output:\n${worker?.output().slice(-1500)}`;
    expect(code, ending).toBe(0);
  });

  // Through Node's HTTP server, where the limit is judged from Content-Length or counted.
  describe('a webhook body over SLUICE_MAX_WEBHOOK_PAYLOAD_MB', () => {
    /**
     * Sends the headers and `bytes` of body, then waits for the answer without ending the
     * request. The amount is bounded so that the client never writes after the server gave
     * up on the rest (it drains for 500 ms, then closes), which would race a reset against
     * the 413 on a busy machine.
     */
    const sendAndAwaitAnswer = (
      flowId: string,
      headers: Record<string, string | number>,
      bytes: number,
    ) =>
      new Promise<{ status: number; body: string }>((done, fail) => {
        const { port } = new URL(base);
        let answered = false;
        const req = request(
          { host: '127.0.0.1', port, method: 'POST', path: `/v1/webhooks/${flowId}`, headers },
          (res) => {
            answered = true;
            let body = '';
            res.on('data', (chunk: Buffer) => {
              body += chunk.toString();
            });
            res.on('end', () => {
              done({ status: res.statusCode ?? 0, body });
              req.destroy();
            });
          },
        );
        req.on('error', (error) => {
          if (!answered) fail(error);
        });
        req.write(Buffer.alloc(bytes, 32));
      });

    it('answers 413 from the declared Content-Length', async () => {
      const flowId = await createFlow(codeFlow('export default () => 1'));
      // Only 64 KiB of the declared 2 MiB: the answer must come from the header alone.
      const res = await sendAndAwaitAnswer(
        flowId,
        { 'content-type': 'application/json', 'content-length': 2 * 1024 * 1024 },
        64 * 1024,
      );
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'payload_too_large' } });
    });

    it('answers 413 for a chunked body once the counted bytes pass the limit', async () => {
      const flowId = await createFlow(codeFlow('export default () => 1'));
      // 1.5 MiB against the 1 MiB limit: the answer needs the counted bytes.
      const res = await sendAndAwaitAnswer(
        flowId,
        { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        1.5 * 1024 * 1024,
      );
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'payload_too_large' } });
    });
  });
});

describe('a worker process', () => {
  it('refuses to start a worker without --no-node-snapshot, in one line naming the flag', async () => {
    const child = spawn(process.execPath, [resolve('dist/main.mjs')], {
      env: {
        PATH: process.env.PATH ?? '',
        SLUICE_ROLE: 'worker',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
        REDIS_URL: 'redis://127.0.0.1:6379',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise((done) => child.once('exit', done));
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      'SLUICE_ROLE=worker runs flows in isolated-vm and needs `node --no-node-snapshot`',
    ]);
  });
});
