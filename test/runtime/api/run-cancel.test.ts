import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFileStore, createQueueDriver, createReplyBus } from '../../../runtime/parts';
import { startWorker } from '../../../runtime/roles/worker';
import { doubleFlow, endlessFlow } from '../../support/flows';
import {
  QUEUE_BACKENDS,
  type QueueBackendEnv,
  startQueueBackend,
} from '../../support/queue-backends';
import { testSecretStore } from '../../support/secrets';
import { startSilentServer } from '../../support/silent-server';
import { startTestStack, type TestStack } from '../../support/stack';

type RunBody = {
  status: string;
  error: string | null;
  attempt: number;
  steps: { stepId: string; status: string; error?: string }[];
  logUrl: string | null;
};

const createFlow = async (stack: TestStack, definition: unknown) =>
  ((await (await stack.call('POST', '/v1/flows', definition)).json()) as { id: string }).id;

const webhook = (stack: TestStack, flowId: string, sync: boolean, body: unknown = { n: 1 }) =>
  Promise.resolve(
    stack.api.request(`/v1/webhooks/${flowId}${sync ? '/sync' : ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );

const getRun = async (stack: TestStack, runId: string) =>
  (await (await stack.call('GET', `/v1/runs/${runId}`)).json()) as RunBody;

/** Waits until the run has started on its worker, then cancels it and answers how long after. */
async function cancelOnceRunning(stack: TestStack, runId: () => Promise<string>) {
  let id = '';
  await vi.waitFor(
    async () => {
      id = await runId();
      expect((await getRun(stack, id)).status).toBe('running');
    },
    { timeout: 10_000, interval: 20 },
  );
  const res = await stack.call('POST', `/v1/runs/${id}/cancel`);
  expect(res.status).toBe(202);
  expect(await res.json()).toEqual({ runId: id, status: 'canceled' });
  return { id, canceledAt: performance.now() };
}

describe.each(QUEUE_BACKENDS)('POST /v1/runs/:id/cancel on the %s queue', (backend) => {
  let queue: QueueBackendEnv;
  let stack: TestStack;
  beforeAll(async () => {
    queue = await startQueueBackend(backend);
    // A code step may run long: only the cancel may stop these runs.
    stack = await startTestStack({ ...queue.env, SLUICE_CODE_TIMEOUT_MS: '60000' });
  });
  afterAll(async () => {
    await stack.close();
    await queue.close();
  });

  it('stops a running code step within 1 s and answers the sync caller', async () => {
    const flowId = await createFlow(stack, endlessFlow);
    const waiting = webhook(stack, flowId, true);
    const latest = async () =>
      (
        (await (await stack.call('GET', `/v1/runs?flowId=${flowId}`)).json()) as {
          runs: { id: string }[];
        }
      ).runs[0]?.id ?? '';
    const { id, canceledAt } = await cancelOnceRunning(stack, latest);
    const answer = await waiting;
    const latencyMs = performance.now() - canceledAt;
    expect(answer.status).toBe(500);
    expect(await answer.json()).toMatchObject({
      runId: id,
      status: 'canceled',
      failedStep: 'main',
    });
    expect(latencyMs).toBeLessThan(1000);
    console.info(
      `${backend}: cancel of a running code step answered its sync caller in ${latencyMs.toFixed(0)} ms`,
    );
    const run = await getRun(stack, id);
    // The run names the step the cancel stopped, as its sync reply and its log do.
    expect(run).toMatchObject({
      status: 'canceled',
      error: 'canceled by request',
      failedStep: 'main',
    });
    expect(run.steps.map((step) => step.stepId)).toEqual(['main']);
    // The isolate was freed: the same worker runs the next flow.
    const next = await webhook(stack, await createFlow(stack, doubleFlow), true, { n: 4 });
    expect(await next.json()).toEqual({ doubled: 8 });
  });

  it('aborts a running http request to a server that never answers within 1 s', async () => {
    const silent = await startSilentServer();
    try {
      const flowId = await createFlow(stack, {
        name: 'hangs',
        trigger: { type: 'webhook' },
        steps: [
          { id: 'call', type: 'http', method: 'GET', url: `http://127.0.0.1:${silent.port}/` },
        ],
      });
      const accepted = (await (await webhook(stack, flowId, false)).json()) as { runId: string };
      const { id, canceledAt } = await cancelOnceRunning(stack, async () => accepted.runId);
      // The worker records what it saw (the log) once its flow stopped.
      await vi.waitFor(async () => expect((await getRun(stack, id)).logUrl).not.toBeNull(), {
        timeout: 1000,
        interval: 10,
      });
      const latencyMs = performance.now() - canceledAt;
      console.info(
        `${backend}: cancel of a running http step recorded by its worker in ${latencyMs.toFixed(0)} ms`,
      );
      expect(latencyMs).toBeLessThan(1000);
      expect(silent.accepted()).toBe(1);
      expect(await getRun(stack, id)).toMatchObject({
        status: 'canceled',
        failedStep: 'call',
        steps: [{ stepId: 'call', status: 'failed' }],
      });
    } finally {
      await silent.close();
    }
  });

  it('answers 409 with the status of a run that already ended', async () => {
    const flowId = await createFlow(stack, doubleFlow);
    const done = await webhook(stack, flowId, true);
    expect(done.status).toBe(201);
    const [run] = (
      (await (await stack.call('GET', `/v1/runs?flowId=${flowId}`)).json()) as {
        runs: { id: string }[];
      }
    ).runs;
    const res = await stack.call('POST', `/v1/runs/${run?.id}/cancel`);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      error: {
        code: 'run_ended',
        message: `run ${run?.id} already ended: succeeded`,
        details: { status: 'succeeded' },
      },
    });
  });

  it('answers 404 for a run it does not know', async () => {
    const res = await stack.call('POST', '/v1/runs/no-such-run/cancel');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

describe.each(QUEUE_BACKENDS)('when a queued run is canceled on the %s queue', (backend) => {
  it('answers its sync caller when the job is delivered, well before the timeout', async () => {
    const queue = await startQueueBackend(backend);
    const stack = await startTestStack(
      { ...queue.env, SLUICE_WEBHOOK_TIMEOUT_S: '60' },
      { worker: false },
    );
    const logger = pino({ level: 'silent' });
    const db = stack.database.handle.db;
    const driver = await createQueueDriver(stack.env, logger, db);
    const replies = await createReplyBus(stack.env, 'cancel-test-worker', { subscribe: false, db });
    try {
      const flowId = await createFlow(stack, doubleFlow);
      const answering = webhook(stack, flowId, true);
      let runId = '';
      await vi.waitFor(
        async () => {
          const list = (await (await stack.call('GET', `/v1/runs?flowId=${flowId}`)).json()) as {
            runs: { id: string; status: string }[];
          };
          runId = list.runs[0]?.id ?? '';
          expect(list.runs[0]?.status).toBe('queued');
        },
        { timeout: 10_000, interval: 20 },
      );
      expect((await stack.call('POST', `/v1/runs/${runId}/cancel`)).status).toBe(202);
      const workerStartedAt = performance.now();
      const worker = startWorker({
        env: stack.env,
        db,
        driver,
        store: createFileStore(stack.env).store,
        secrets: testSecretStore(db),
        replies,
        logger,
      });
      const answer = await answering;
      const waitedMs = performance.now() - workerStartedAt;
      await worker.close();
      expect(answer.status).toBe(500);
      expect(await answer.json()).toMatchObject({ runId, status: 'canceled' });
      // Told as the job was taken, not by the row read at the 60 s timeout.
      expect(waitedMs).toBeLessThan(15_000);
      expect(await getRun(stack, runId)).toMatchObject({ status: 'canceled', attempt: 0 });
    } finally {
      await replies.close();
      await driver.queue.close();
      await stack.close();
      await queue.close();
    }
  }, 40_000);

  it('never starts it, even when its job is delivered', async () => {
    const queue = await startQueueBackend(backend);
    const stack = await startTestStack(queue.env, { worker: false });
    const logger = pino({ level: 'silent' });
    const driver = await createQueueDriver(stack.env, logger, stack.database.handle.db);
    try {
      const flowId = await createFlow(stack, doubleFlow);
      const { runId } = (await (await webhook(stack, flowId, false)).json()) as { runId: string };
      expect((await getRun(stack, runId)).status).toBe('queued');
      expect((await stack.call('POST', `/v1/runs/${runId}/cancel`)).status).toBe(202);
      const worker = startWorker({
        env: stack.env,
        db: stack.database.handle.db,
        driver,
        store: createFileStore(stack.env).store,
        secrets: testSecretStore(stack.database.handle.db),
        replies: { publish: async () => {} },
        logger,
      });
      // The job is taken and dropped: no live job remains, and the run never started.
      await vi.waitFor(async () => expect((await driver.queue.liveJobIds([runId])).size).toBe(0), {
        timeout: 10_000,
        interval: 20,
      });
      await worker.close();
      expect(await getRun(stack, runId)).toMatchObject({ status: 'canceled', attempt: 0 });
    } finally {
      await driver.queue.close();
      await stack.close();
      await queue.close();
    }
  });
});
