import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { markRunsInterrupted } from '../../../runtime/db/run-interruption-store';
import { WORKER_LOST } from '../../../runtime/db/run-recovery-store';
import {
  finishRun,
  insertQueuedRun,
  type RunResult,
  startRun,
} from '../../../runtime/db/run-store';
import { parseEnv } from '../../../runtime/env';
import { createQueueDriver } from '../../../runtime/parts';
import { createInProcessDriver } from '../../../runtime/queue/in-process-driver';
import { type QueueDriver, RUN_QUEUE_NAME } from '../../../runtime/queue/run-queue';
import { createRedisLease, soleLease } from '../../../runtime/reliability/leader-lease';
import { createRunReconciler } from '../../../runtime/reliability/run-reconciler';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../../support/database';
import { codeFlow } from '../../support/flows';
import { querySql } from '../../support/sql';

const logger = pino({ level: 'silent' });
let database: TestDatabase;
let projectId: string;
let flowId: string;
let versionId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ projectId } = await createProjectWithKey(database.handle.db, {
    name: 'reconciler',
    apiKey: generateApiKey(),
  }));
  ({ id: flowId, versionId } = await createFlow(database.handle.db, {
    projectId,
    name: 'noop',
    definition: codeFlow('export default () => 1'),
    webhookSecret: null,
  }));
});
afterAll(() => database.drop());
// Each test starts with no unfinished run from the tests before it.
beforeEach(() =>
  querySql(
    database.url,
    "update runs set status = 'canceled' where status in ('queued', 'running')",
  ),
);

const db = () => database.handle.db;

async function queuedRun(): Promise<string> {
  const id = randomUUID();
  await insertQueuedRun(db(), { id, projectId, flowId, flowVersionId: versionId, trigger: {} });
  return id;
}

const statusOf = async (runId: string) => {
  const rows = await querySql<{ status: string; attempt: number; error: string | null }>(
    database.url,
    'select status, attempt, error from runs where id = $1',
    [runId],
  );
  return rows[0];
};

const succeeded: RunResult = {
  status: 'succeeded',
  error: null,
  failedStep: null,
  logKey: null,
  dispatchMs: null,
  responseStatus: 200,
  response: { by: 'newer attempt' },
  steps: [],
};

describe('with the BullMQ queue', () => {
  let prefix: string;
  let driver: QueueDriver;
  let jobs: Queue;

  beforeEach(() => {
    prefix = randomQueuePrefix();
    const env = parseEnv({
      DATABASE_URL: database.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      SLUICE_QUEUE_PREFIX: prefix,
    });
    driver = createQueueDriver(env, logger);
    jobs = new Queue(RUN_QUEUE_NAME, { prefix, connection: { host: '127.0.0.1', port: 6379 } });
  });
  afterEach(async () => {
    await jobs.obliterate({ force: true });
    await jobs.close();
    await driver.queue.close();
  });

  const reconciler = (maxAttempts = 2) =>
    createRunReconciler({
      db: db(),
      queue: driver.queue,
      lease: soleLease,
      logger,
      intervalMs: 1000,
      afterS: 30,
      maxAttempts,
    });

  it('re-enqueues a queued run whose job Redis lost, exactly once', async () => {
    const runId = await queuedRun();
    await driver.queue.enqueue({ runId, replyTo: null });
    await jobs.obliterate({ force: true }); // Redis restarted without persistence

    const pass = await reconciler().reconcileOnce({ ignoreAge: true });
    expect(pass).toMatchObject({ leader: true, reenqueued: 1 });
    expect(await jobs.getJobState(runId)).toBe('waiting');

    const again = await reconciler().reconcileOnce({ ignoreAge: true });
    expect(again.reenqueued).toBe(0);
    expect(await jobs.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('leaves queued runs younger than SLUICE_RECONCILE_AFTER_S to the webhook that is enqueueing them', async () => {
    const runId = await queuedRun();
    const pass = await reconciler().reconcileOnce();
    expect(pass.reenqueued).toBe(0);
    expect(await jobs.getJobState(runId)).toBe('unknown');
  });

  it('replaces the failed job of a queued run, which would otherwise block its job id', async () => {
    const runId = await queuedRun();
    await driver.queue.enqueue({ runId, replyTo: null });
    const worker = new Worker(
      RUN_QUEUE_NAME,
      async () => {
        throw new Error('claim failed: PostgreSQL was down');
      },
      { prefix, connection: { host: '127.0.0.1', port: 6379 } },
    );
    await new Promise((done) => worker.once('failed', done));
    await worker.close();
    expect(await jobs.getJobState(runId)).toBe('failed');

    await reconciler().reconcileOnce({ ignoreAge: true });
    expect(await jobs.getJobState(runId)).toBe('waiting');
  });

  it('retries a running run whose worker is lost, then fails it with worker_lost after SLUICE_MAX_ATTEMPTS', async () => {
    const runId = await queuedRun();
    await startRun(db(), runId); // attempt 1; its worker dies and the stalled check fails the job

    const first = await reconciler(2).reconcileOnce({ ignoreAge: true });
    expect(first.retried).toBe(1);
    expect(await statusOf(runId)).toMatchObject({ status: 'queued', attempt: 1 });
    expect(await jobs.getJobState(runId)).toBe('waiting');

    await jobs.obliterate({ force: true });
    await startRun(db(), runId); // attempt 2 dies too
    const second = await reconciler(2).reconcileOnce({ ignoreAge: true });
    expect(second.failed).toBe(1);
    expect(await statusOf(runId)).toEqual({ status: 'failed', attempt: 2, error: WORKER_LOST });
  });

  it('does not count a drain hand-back as a lost attempt', async () => {
    const runId = await queuedRun();
    await startRun(db(), runId); // attempt 1: its worker drains and hands the run back
    expect(await markRunsInterrupted(db(), [runId])).toEqual([runId]);
    await startRun(db(), runId); // attempt 2: this worker is lost

    // One attempt of two was lost, so the run gets another; counting the hand-back would fail it.
    const pass = await reconciler(2).reconcileOnce({ ignoreAge: true });
    expect(pass).toMatchObject({ retried: 1, failed: 0 });
    expect(await statusOf(runId)).toEqual({ status: 'queued', attempt: 2, error: null });
    expect(await jobs.getJobState(runId)).toBe('waiting');
  });

  it('leaves a running run alone while its job is live', async () => {
    const runId = await queuedRun();
    await driver.queue.enqueue({ runId, replyTo: null });
    await startRun(db(), runId);
    const pass = await reconciler().reconcileOnce({ ignoreAge: true });
    expect(pass).toMatchObject({ retried: 0, failed: 0, reenqueued: 0 });
    expect(await statusOf(runId)).toMatchObject({ status: 'running', attempt: 1 });
  });

  it('lets only one instance reconcile at a time', async () => {
    const redis = new Redis(6379, '127.0.0.1');
    const key = `${prefix}:reconciler`;
    const a = createRedisLease(redis, key, 'app-a', 2000);
    const b = createRedisLease(redis, key, 'app-b', 2000);
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    expect(await a.acquire()).toBe(true); // the holder extends
    await b.release(); // not b's to release
    expect(await b.acquire()).toBe(false);
    await a.release();
    expect(await b.acquire()).toBe(true);

    const runId = await queuedRun();
    const follower = createRunReconciler({
      db: db(),
      queue: driver.queue,
      lease: a,
      logger,
      intervalMs: 1000,
      afterS: 30,
      maxAttempts: 2,
    });
    expect(await follower.reconcileOnce({ ignoreAge: true })).toMatchObject({ leader: false });
    expect(await jobs.getJobState(runId)).toBe('unknown');
    await b.release();
    redis.disconnect();
  });
});

describe('fencing by attempt', () => {
  it('a stale attempt cannot overwrite the result of a newer attempt', async () => {
    const runId = await queuedRun();
    const stale = await startRun(db(), runId);
    const newer = await startRun(db(), runId); // the stale worker was presumed dead
    expect(await finishRun(db(), runId, newer?.attempt ?? 0, succeeded)).toBe(true);
    const late = await finishRun(db(), runId, stale?.attempt ?? 0, {
      ...succeeded,
      status: 'failed',
      error: 'late',
    });
    expect(late).toBe(false);
    expect(await statusOf(runId)).toEqual({ status: 'succeeded', attempt: 2, error: null });
  });

  it('a late completion cannot overwrite worker_lost, nor a run handed back to the queue', async () => {
    const driver = createInProcessDriver(() => {});
    const reaper = (maxAttempts: number) =>
      createRunReconciler({
        db: db(),
        queue: driver.queue,
        lease: soleLease,
        logger,
        intervalMs: 1000,
        afterS: 30,
        maxAttempts,
      });
    const handedBack = await queuedRun();
    const first = await startRun(db(), handedBack);
    expect((await reaper(2).reconcileOnce({ ignoreAge: true })).retried).toBe(1);
    expect(await finishRun(db(), handedBack, first?.attempt ?? 0, succeeded)).toBe(false);
    expect(await statusOf(handedBack)).toMatchObject({ status: 'queued', attempt: 1 });

    await querySql(database.url, "update runs set status = 'canceled' where id = $1", [handedBack]);
    const lost = await queuedRun();
    const claim = await startRun(db(), lost);
    expect((await reaper(1).reconcileOnce({ ignoreAge: true })).failed).toBe(1);
    expect(await finishRun(db(), lost, claim?.attempt ?? 0, succeeded)).toBe(false);
    expect(await statusOf(lost)).toMatchObject({ status: 'failed', error: WORKER_LOST });
    await driver.queue.close();
  });
});

describe('in embedded mode (in-process queue)', () => {
  it('picks up the runs a previous process left queued or running, in the first pass', async () => {
    const queued = await queuedRun();
    const running = await queuedRun();
    await startRun(db(), running);
    const driver = createInProcessDriver(() => {});
    const reconciler = createRunReconciler({
      db: db(),
      queue: driver.queue,
      lease: soleLease,
      logger,
      intervalMs: 1000,
      afterS: 30,
      maxAttempts: 2,
      firstPassIgnoresAge: true,
    });
    const pass = await reconciler.reconcileOnce({ ignoreAge: true });
    expect(pass).toMatchObject({ retried: 1, reenqueued: 1, failed: 0 });
    const live = await driver.queue.liveJobIds([queued, running]);
    expect(live).toEqual(new Set([queued, running]));
    // A second pass finds both live and enqueues nothing twice.
    expect((await reconciler.reconcileOnce({ ignoreAge: true })).reenqueued).toBe(0);
    await driver.queue.close();
  });
});
