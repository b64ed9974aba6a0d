import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { codeFlow, doubleFlow, endlessFlow, slowFlow, throwingFlow } from '../support/flows';
import { fetchEventually, pollJson, type SluiceProcess, startSluice } from '../support/processes';
import { QUEUE_BACKENDS, type QueueBackendEnv, startQueueBackend } from '../support/queue-backends';
import { type RunningS3rver, startS3rver } from '../support/s3rver';

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
      SLUICE_STORAGE: 's3',
      SLUICE_S3_BUCKET: s3.bucket,
      SLUICE_S3_ENDPOINT: s3.endpoint,
      SLUICE_S3_REGION: s3.region,
      SLUICE_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      SLUICE_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      SLUICE_WEBHOOK_TIMEOUT_S: '1',
    };
    // Two processes start together: the advisory lock serialises their migrations.
    [app, ...workers] = await Promise.all([
      startSluice({
        ...shared,
        SLUICE_ROLE: 'app',
        PORT: '0',
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

  async function createFlow(definition: unknown): Promise<string> {
    const res = await fetch(`${base}/v1/flows`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify(definition),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

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

  it('runs an async webhook to succeeded, with a log readable through its pre-signed URL', async () => {
    const flowId = await createFlow(doubleFlow);
    const res = await webhook(flowId, { n: 5 }, false);
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const run = await runUntil(runId, (r) => r.status === 'succeeded');
    expect(run.logUrl).toContain(s3.endpoint);
    const log = (await (await fetchEventually(run.logUrl ?? '')).json()) as {
      runId: string;
      log: unknown[];
    };
    expect(log.runId).toBe(runId);
    expect(log.log).toHaveLength(2);
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
