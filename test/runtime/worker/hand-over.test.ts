import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { insertQueuedRun, startRun } from '../../../runtime/db/run-store';
import { runs } from '../../../runtime/db/schema';
import { type Env, parseEnv } from '../../../runtime/env';
import { createFileStore, createQueueDriver, createReplyBus } from '../../../runtime/parts';
import type { ReplyBus } from '../../../runtime/queue/reply-bus';
import type { QueueDriver } from '../../../runtime/queue/run-queue';
import { type RunningWorker, startWorker } from '../../../runtime/roles/worker';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../../support/database';
import { testSecretStore } from '../../support/secrets';

/**
 * The drain hand-back of a run whose flow has no side effects and still runs unclaimed from
 * its job's copy (its first 250 ms): the hand-back stops the flow, and the run goes back to the
 * queue for the next worker. The stopped flow's outcome is not the run's.
 */
const logger = pino({ level: 'silent' });
const trigger = { body: {}, headers: {}, query: {} };
let database: TestDatabase;
let env: Env;
let dataDir: string;
let replies: ReplyBus;
let app: QueueDriver;
const drivers: QueueDriver[] = [];
const workers: RunningWorker[] = [];
let projectId: string;
let flow: { id: string; versionId: string };

function startWorkerOnItsOwnConnection(): Promise<RunningWorker> {
  return createQueueDriver(env, logger).then((driver) => {
    drivers.push(driver);
    const worker = startWorker({
      env,
      db: database.handle.db,
      secrets: testSecretStore(database.handle.db),
      driver,
      store: createFileStore(env).store,
      replies,
      logger,
    });
    workers.push(worker);
    return worker;
  });
}

const rowOf = async (runId: string) => {
  const [row] = await database.handle.db
    .select({ status: runs.status, attempt: runs.attempt, interruptions: runs.interruptions })
    .from(runs)
    .where(eq(runs.id, runId));
  return row;
};

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-hand-over-'));
  env = parseEnv({
    DATABASE_URL: database.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
    SLUICE_DATA_DIR: dataDir,
    SLUICE_CODE_TIMEOUT_MS: '20000',
  });
  replies = await createReplyBus(env, randomUUID(), { subscribe: false });
  app = await createQueueDriver(env, logger);
  ({ projectId } = await createProjectWithKey(database.handle.db, {
    name: 'hand-over',
    apiKey: generateApiKey(),
  }));
  // No http step: a sync job with its copy runs unclaimed for its first 250 ms.
  flow = await createFlow(database.handle.db, {
    projectId,
    name: 'busy',
    definition: {
      name: 'busy',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'busy',
          type: 'code',
          code: 'export default () => { const end = Date.now() + 1500; while (Date.now() < end) {} return { ok: true }; }',
        },
      ],
    },
    webhookSecret: null,
  });
}, 30_000);

afterAll(async () => {
  for (const worker of workers) await worker.close().catch(() => undefined);
  for (const driver of drivers) await driver.queue.close();
  await app?.queue.close();
  await replies?.close();
  await database?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Inserts a queued run of the busy flow and enqueues its job, with or without its copy. */
async function queueRun({ withCopy }: { withCopy: boolean }): Promise<string> {
  const runId = randomUUID();
  await insertQueuedRun(database.handle.db, {
    id: runId,
    projectId,
    flowId: flow.id,
    flowVersionId: flow.versionId,
    trigger,
  });
  const start = withCopy ? { start: { flowVersionId: flow.versionId, projectId, trigger } } : {};
  await app.queue.enqueue({ runId, replyTo: null, ...start });
  return runId;
}

/** Resolves once the worker's sandbox is running a step: the flow has started. */
async function untilFlowRuns(worker: { sandboxBusyForMs(): number }): Promise<void> {
  await vi.waitFor(
    () => {
      if (worker.sandboxBusyForMs() === 0) throw new Error('flow not running yet');
    },
    { timeout: 10_000, interval: 2 },
  );
}

describe('a drain hand-back', () => {
  it('puts back a run it was running unclaimed, for the next worker to run, not record it failed', async () => {
    const draining = await startWorkerOnItsOwnConnection();
    // The isolate exists, so the flow's code starts at once.
    expect(await draining.sandboxAnswers(10_000)).toBe(true);
    const runId = await queueRun({ withCopy: true });
    // The flow's code step is running: the run is still unclaimed (queued at attempt 0).
    await untilFlowRuns(draining);

    // As at the drain deadline: it stops taking jobs, then hands back the runs in hand.
    const closing = draining.close();
    expect(await draining.handOver()).toEqual([runId]);
    await closing;
    expect(await rowOf(runId)).toMatchObject({ status: 'queued', attempt: 0 });

    await startWorkerOnItsOwnConnection();
    await vi.waitFor(
      async () => {
        const row = await rowOf(runId);
        if (row?.status === 'queued' || row?.status === 'running') throw new Error('unfinished');
      },
      { timeout: 15_000, interval: 100 },
    );
    // Run once, by the next worker: unclaimed when it was handed back, so no attempt counted.
    expect(await rowOf(runId)).toMatchObject({ status: 'succeeded', attempt: 1, interruptions: 0 });
  }, 40_000);

  it('leaves alone a run that another worker has taken over since this one claimed it', async () => {
    // The earlier test's workers stop, so that this run goes to the one below.
    for (const worker of workers) await worker.close();
    const draining = await startWorkerOnItsOwnConnection();
    expect(await draining.sandboxAnswers(10_000)).toBe(true);
    // No copy of the run: the worker claims it (attempt 1) before its flow starts.
    const runId = await queueRun({ withCopy: false });
    await untilFlowRuns(draining);
    expect(await rowOf(runId)).toMatchObject({ status: 'running', attempt: 1 });
    // Another worker takes it over (this one's lock stalled, or its session was lost).
    expect(await startRun(database.handle.db, runId)).toMatchObject({ attempt: 2 });

    const closing = draining.close();
    await draining.handOver();
    await closing;
    // Still the other worker's: not put back in the queue, no interruption counted.
    expect(await rowOf(runId)).toMatchObject({ status: 'running', attempt: 2, interruptions: 0 });
  }, 40_000);
});
