import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { slowFlow } from '../support/flows';
import { acceptRunOverHttp, createFlowOverHttp } from '../support/flows-over-http';
import { type HttpStub, startHttpStub } from '../support/http-stub';
import { pollJson, type SluiceProcess, startSluice } from '../support/processes';
import { QUEUE_BACKENDS, type QueueBackendEnv, startQueueBackend } from '../support/queue-backends';

/**
 * Real APP and worker processes from the bundle, on each queue (SQS without any Redis); only
 * the ECS agent is a local stub.
 */
const API_KEY = 'sk_e2e_worker_drain_key_0123456789';
const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

interface RunView {
  status: string;
  attempt: number;
  interruptions: number;
  startedAt: string | null;
}

describe.each(QUEUE_BACKENDS)('on the %s queue', (backend) => {
  let queue: QueueBackendEnv;
  let database: TestDatabase;
  let dataDir: string;
  let agent: HttpStub;
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

  const trigger = (flowId: string) => acceptRunOverHttp(base, flowId);

  const runUntil = (runId: string, until: (run: RunView) => boolean, timeoutMs = 15_000) =>
    pollJson<RunView>(`${base}/v1/runs/${runId}`, { headers: auth }, until, timeoutMs);

  const protectionCalls = () =>
    agent.requests
      .filter((r) => r.method === 'PUT' && r.path === '/task-protection/v1/state')
      .map((r) => ({
        ...(JSON.parse(r.body) as { ProtectionEnabled: boolean; ExpiresInMinutes?: number }),
        at: r.at,
      }));

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-drain-'));
    queue = await startQueueBackend(backend);
    agent = await startHttpStub(() => ({
      status: 200,
      body: JSON.stringify({ protection: { ProtectionEnabled: true } }),
    }));
    shared = {
      DATABASE_URL: database.url,
      ...queue.env,
      // A SIGKILLed worker's long poll can still be handed a message, as on SQS itself: it stays
      // hidden for the visibility timeout. Short here, so the next test's run is not held up.
      ...(backend === 'sqs' ? { SLUICE_STALLED_AFTER_S: '3' } : {}),
      SLUICE_DATA_DIR: dataDir,
      SLUICE_LOCAL_SIGNING_SECRET: 'drain-test-signing-secret-0123456789abcdef',
      SLUICE_CODE_TIMEOUT_MS: '30000',
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
    await agent?.close();
    await queue?.close();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('worker scale-in protection', () => {
    it('turns ECS task protection on while a flow runs and off after', async () => {
      const worker = await startWorker({ ECS_AGENT_URI: agent.url, SLUICE_FLOW_TIMEOUT_S: '600' });
      const flowId = await createFlow(slowFlow(1500));
      const runId = await trigger(flowId);
      await runUntil(runId, (run) => run.status === 'running');
      // The agent call may land just after the claim: wait for it, with a deadline.
      await vi.waitFor(() => expect(protectionCalls().length).toBeGreaterThan(0), {
        timeout: 5000,
        interval: 20,
      });
      expect(protectionCalls().at(-1)).toMatchObject({ ProtectionEnabled: true });
      // Covers the flow timeout plus the drain window (600 s + 100 s, twice), in minutes.
      expect(protectionCalls().at(-1)?.ExpiresInMinutes).toBe(24);

      const done = await runUntil(
        runId,
        (run) => run.status !== 'running' && run.status !== 'queued',
      );
      expect(done.status).toBe('succeeded');
      // Off once the worker has been idle for 5 s (a backlog's next job keeps it on).
      await vi.waitFor(
        () =>
          expect(protectionCalls().map((call) => call.ProtectionEnabled)).toEqual([true, false]),
        { timeout: 15_000, interval: 20 },
      );
      await worker.stop('SIGKILL');
    });
  });

  describe('worker drain on SIGTERM', () => {
    it('lets the running flow finish and exits 0', async () => {
      const worker = await startWorker({ SLUICE_DRAIN_TIMEOUT_S: '20' });
      const runId = await trigger(await createFlow(slowFlow(2000)));
      await runUntil(runId, (run) => run.status === 'running');

      const exitCode = await worker.stop('SIGTERM');
      expect(exitCode).toBe(0);
      const run = await runUntil(runId, () => true);
      expect(run).toMatchObject({ status: 'succeeded', attempt: 1, interruptions: 0 });
      expect(worker.output()).not.toContain('handed back');
    });

    it('hands a flow longer than the drain timeout to another worker, which claims it at once', async () => {
      const draining = await startWorker({ SLUICE_DRAIN_TIMEOUT_S: '1' });
      // Long enough to still run when SIGTERM comes, however slowly the standby starts on a busy
      // box (with 4 s it sometimes ended first, and nothing was handed back).
      const runId = await trigger(await createFlow(slowFlow(10_000)));
      await runUntil(runId, (run) => run.status === 'running' && run.attempt === 1);
      const standby = await startWorker();

      const closed = new Promise((resolve) => draining.child.once('close', resolve));
      const exitCode = await draining.stop('SIGTERM');
      await closed; // stdout fully read
      expect(exitCode).toBe(0);
      const handOverLine = draining
        .output()
        .split('\n')
        .find((line) => line.includes('runs handed back to the queue'));
      expect(handOverLine).toContain(runId);
      // Then the rest of the process closes, and it ends by itself as a clean stop does.
      const stoppedLine = draining
        .output()
        .split('\n')
        .find((line) => line.includes('"msg":"stopped"'));
      expect(JSON.parse(stoppedLine ?? '{}')).toMatchObject({ handedOver: true });
      const handedOverAt = Date.parse((JSON.parse(handOverLine ?? '{}') as { time: string }).time);

      // Handed back, not lost: the standby claims it at once (no stalled check, no reconciler,
      // which here would take 30 s + 10 s). How soon is a bench figure (`--scenarios recovery`).
      const retried = await runUntil(runId, (run) => run.attempt === 2, 20_000);
      expect(Date.parse(retried.startedAt ?? '')).toBeGreaterThanOrEqual(handedOverAt - 1000);

      const done = await runUntil(runId, (run) => run.status === 'succeeded', 30_000);
      expect(done).toMatchObject({ status: 'succeeded', attempt: 2, interruptions: 1 });
      await standby.stop('SIGKILL');
    }, 60_000);
  });
});
