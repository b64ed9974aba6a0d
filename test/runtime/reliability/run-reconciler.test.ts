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
import {
  createSessionConnection,
  type SessionConnection,
} from '../../../runtime/db/session-connection';
import { parseEnv } from '../../../runtime/env';
import { createQueueDriver } from '../../../runtime/parts';
import { createInProcessDriver } from '../../../runtime/queue/in-process-driver';
import { createRunHolds } from '../../../runtime/queue/run-holds';
import { type QueueDriver, RUN_QUEUE_NAME } from '../../../runtime/queue/run-queue';
import {
  createRedisLease,
  type LeaderLease,
  soleLease,
} from '../../../runtime/reliability/leader-lease';
import { createPgLease } from '../../../runtime/reliability/pg-lease';
import {
  createRunReconciler,
  type RunReconciler,
} from '../../../runtime/reliability/run-reconciler';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../../support/database';
import { type RunningFauxqs, sqsEnv, startFauxqsServer } from '../../support/fauxqs';
import { codeFlow } from '../../support/flows';
import { querySql } from '../../support/sql';

const logger = pino({ level: 'silent' });
let database: TestDatabase;
let projectId: string;
let flowId: string;
let versionId: string;
let fauxqs: RunningFauxqs;

beforeAll(async () => {
  fauxqs = await startFauxqsServer();
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
afterAll(async () => {
  await database.drop();
  await fauxqs.close();
});
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
  logBody: null,
  dispatchMs: null,
  responseStatus: 200,
  response: { by: 'newer attempt' },
  steps: [],
};

/**
 * A run queue under test, with the means to look inside it and to break it as an outage
 * would. `holdLive` makes a run's job live as a worker would: a BullMQ job, or an SQS
 * worker's PostgreSQL hold.
 */
interface QueueUnderTest {
  driver: QueueDriver;
  lose(): Promise<void>;
  waiting(runId: string): Promise<boolean>;
  waitingCount(): Promise<number>;
  holdLive(runId: string): Promise<void>;
  leases(): [LeaderLease, LeaderLease, () => Promise<void>];
  bullmq?: { jobs: Queue; prefix: string };
  close(): Promise<void>;
}

async function bullmqUnderTest(): Promise<QueueUnderTest> {
  const prefix = randomQueuePrefix();
  const env = parseEnv({
    DATABASE_URL: database.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    SLUICE_QUEUE_PREFIX: prefix,
  });
  const driver = await createQueueDriver(env, logger);
  const jobs = new Queue(RUN_QUEUE_NAME, { prefix, connection: { host: '127.0.0.1', port: 6379 } });
  return {
    driver,
    bullmq: { jobs, prefix },
    lose: () => jobs.obliterate({ force: true }), // Redis restarted without persistence
    waiting: async (runId) => (await jobs.getJobState(runId)) === 'waiting',
    waitingCount: async () => (await jobs.getJobCounts('waiting')).waiting ?? 0,
    holdLive: (runId) => driver.queue.enqueue({ runId, replyTo: null }),
    leases() {
      const redis = new Redis(6379, '127.0.0.1');
      const key = `${prefix}:reconciler`;
      return [
        createRedisLease(redis, key, 'app-a', 2000),
        createRedisLease(redis, key, 'app-b', 2000),
        async () => redis.disconnect(),
      ];
    },
    async close() {
      await jobs.obliterate({ force: true });
      await jobs.close();
      await driver.queue.close();
    },
  };
}

async function sqsUnderTest(): Promise<QueueUnderTest> {
  const queueUrl = fauxqs.createQueue();
  const name = queueUrl.split('/').at(-1) ?? '';
  const env = parseEnv({ DATABASE_URL: database.url, ...sqsEnv(fauxqs.endpoint, queueUrl) });
  const driver = await createQueueDriver(env, logger, db());
  const sessions: SessionConnection[] = [];
  const session = () => {
    const opened = createSessionConnection({
      access: { url: database.url },
      applicationName: 'test',
    });
    sessions.push(opened);
    return opened;
  };
  const ready = () => fauxqs.server.inspectQueue(name)?.messages.ready ?? [];
  return {
    driver,
    async lose() {
      fauxqs.server.deleteQueue(name);
      fauxqs.server.createQueue(name);
    },
    waiting: async (runId) => ready().some((message) => message.body.includes(runId)),
    waitingCount: async () => ready().length,
    async holdLive(runId) {
      expect(await createRunHolds(session()).take(runId)).toEqual({ taken: true });
    },
    leases: () => [
      createPgLease(session(), 'reconciler'),
      createPgLease(session(), 'reconciler'),
      async () => undefined,
    ],
    async close() {
      await Promise.all(sessions.map((opened) => opened.close()));
      await driver.queue.close();
    },
  };
}

describe.each([
  ['bullmq', bullmqUnderTest],
  ['sqs', sqsUnderTest],
] as const)('with the %s queue', (backend, start) => {
  let q: QueueUnderTest;

  beforeEach(async () => {
    q = await start();
  });
  afterEach(() => q.close());

  /** The reconcilers' clock, moved by hand past the lost-run grace of the queue (sqs). */
  let clock = Date.now();
  const reconciler = (maxAttempts = 2, lease: LeaderLease = soleLease) =>
    createRunReconciler({
      db: db(),
      queue: q.driver.queue,
      lease,
      logger,
      intervalMs: 1000,
      afterS: 30,
      maxAttempts,
      now: () => clock,
    });
  const grace = () => q.driver.queue.lostJobGraceMs ?? 0;
  /**
   * The pass that finds a lost worker: with sqs, one more than the grace after a pass that
   * already saw the run without its hold (and did nothing).
   */
  const passPastGrace = async (instance: RunReconciler) => {
    if (grace() > 0) {
      expect(await instance.reconcileOnce({ ignoreAge: true })).toMatchObject({
        retried: 0,
        failed: 0,
      });
      clock += grace() + 1;
    }
    return instance.reconcileOnce({ ignoreAge: true });
  };

  it('runs retention after a pass only while it holds the lease', async () => {
    let prunes = 0;
    const withPrune = (acquired: boolean) =>
      createRunReconciler({
        db: db(),
        queue: q.driver.queue,
        lease: { acquire: async () => acquired, release: async () => {} },
        logger,
        intervalMs: 1000,
        afterS: 30,
        maxAttempts: 2,
        prune: async () => {
          prunes++;
        },
      });
    await withPrune(false).reconcileOnce();
    expect(prunes).toBe(0);
    await withPrune(true).reconcileOnce();
    expect(prunes).toBe(1);
  });

  it('re-enqueues a queued run whose job the queue lost, exactly once', async () => {
    const runId = await queuedRun();
    await q.driver.queue.enqueue({ runId, replyTo: null });
    await q.lose();

    const pass = await reconciler().reconcileOnce({ ignoreAge: true });
    expect(pass).toMatchObject({ leader: true, reenqueued: 1 });
    expect(await q.waiting(runId)).toBe(true);

    const again = await reconciler().reconcileOnce({ ignoreAge: true });
    expect(again.reenqueued).toBe(0);
    expect(await q.waitingCount()).toBe(1);
  });

  it('leaves queued runs younger than SLUICE_RECONCILE_AFTER_S to the webhook that is enqueueing them', async () => {
    const runId = await queuedRun();
    const pass = await reconciler().reconcileOnce();
    expect(pass.reenqueued).toBe(0);
    expect(await q.waiting(runId)).toBe(false);
  });

  it.runIf(backend === 'bullmq')(
    'replaces the failed job of a queued run, which would otherwise block its job id',
    async () => {
      const runId = await queuedRun();
      await q.driver.queue.enqueue({ runId, replyTo: null });
      const { jobs, prefix } = q.bullmq ?? {};
      const worker = new Worker(
        RUN_QUEUE_NAME,
        async () => {
          throw new Error('claim failed: PostgreSQL was down');
        },
        { prefix: prefix ?? '', connection: { host: '127.0.0.1', port: 6379 } },
      );
      await new Promise((done) => worker.once('failed', done));
      await worker.close();
      expect(await jobs?.getJobState(runId)).toBe('failed');

      await reconciler().reconcileOnce({ ignoreAge: true });
      expect(await jobs?.getJobState(runId)).toBe('waiting');
    },
  );

  it('retries a running run whose worker is lost, then fails it with worker_lost after SLUICE_MAX_ATTEMPTS', async () => {
    const runId = await queuedRun();
    await startRun(db(), runId); // attempt 1; its worker dies and the stalled check fails the job

    const instance = reconciler(2);
    const first = await passPastGrace(instance);
    expect(first.retried).toBe(1);
    expect(await statusOf(runId)).toMatchObject({ status: 'queued', attempt: 1 });
    expect(await q.waiting(runId)).toBe(true);

    await q.lose();
    await startRun(db(), runId); // attempt 2 dies too
    const second = await passPastGrace(instance);
    expect(second.failed).toBe(1);
    expect(await statusOf(runId)).toEqual({ status: 'failed', attempt: 2, error: WORKER_LOST });
  });

  it('names in its log the runs it retried and the runs it failed', async () => {
    const lines: Record<string, unknown>[] = [];
    const recording = pino(
      { level: 'warn' },
      { write: (line: string) => lines.push(JSON.parse(line)) },
    );
    const runId = await queuedRun();
    await startRun(db(), runId);
    const instance = createRunReconciler({
      db: db(),
      queue: q.driver.queue,
      lease: soleLease,
      logger: recording,
      intervalMs: 1000,
      afterS: 30,
      maxAttempts: 2,
      now: () => clock,
    });
    expect((await passPastGrace(instance)).retried).toBe(1);
    await q.lose();
    await startRun(db(), runId);
    expect((await passPastGrace(instance)).failed).toBe(1);
    const recovered = lines.filter((line) => line.msg === 'reconciler recovered runs');
    expect(recovered).toMatchObject([
      { retried: 1, retriedRunIds: [runId], failedRunIds: [] },
      { failed: 1, retriedRunIds: [], failedRunIds: [runId] },
    ]);
  });

  it('does not count a drain hand-back as a lost attempt', async () => {
    const runId = await queuedRun();
    await startRun(db(), runId); // attempt 1: its worker drains and hands the run back
    expect(await markRunsInterrupted(db(), [{ runId, attempt: 1 }])).toEqual([runId]);
    await startRun(db(), runId); // attempt 2: this worker is lost

    // One attempt of two was lost, so the run gets another; counting the hand-back would fail it.
    const pass = await passPastGrace(reconciler(2));
    expect(pass).toMatchObject({ retried: 1, failed: 0 });
    expect(await statusOf(runId)).toEqual({ status: 'queued', attempt: 2, error: null });
    expect(await q.waiting(runId)).toBe(true);
  });

  it.runIf(backend === 'sqs')(
    "waits out a missing hold's grace before counting the worker lost, and a new leader waits it again",
    async () => {
      const runId = await queuedRun();
      await startRun(db(), runId); // attempt 1; its worker's session is gone, its hold with it
      let leading = true;
      const lease: LeaderLease = { acquire: async () => leading, release: async () => {} };
      const first = reconciler(2, lease);
      expect(await first.reconcileOnce({ ignoreAge: true })).toMatchObject({ retried: 0 });
      clock += grace(); // not more than the grace: the worker may still take its hold back
      expect(await first.reconcileOnce({ ignoreAge: true })).toMatchObject({ retried: 0 });

      // The lease moves to another APP, which has seen nothing yet.
      leading = false;
      expect(await first.reconcileOnce({ ignoreAge: true })).toMatchObject({ leader: false });
      const second = reconciler(2);
      expect(await second.reconcileOnce({ ignoreAge: true })).toMatchObject({ retried: 0 });
      // ...and back: what the first saw before is forgotten.
      leading = true;
      clock += 1;
      expect(await first.reconcileOnce({ ignoreAge: true })).toMatchObject({ retried: 0 });
      expect(await statusOf(runId)).toMatchObject({ status: 'running', attempt: 1 });

      clock += grace() + 1;
      expect(await first.reconcileOnce({ ignoreAge: true })).toMatchObject({ retried: 1 });
      expect(await statusOf(runId)).toMatchObject({ status: 'queued', attempt: 1 });
      expect(await q.waiting(runId)).toBe(true);
    },
  );

  it('leaves a running run alone while its job is live', async () => {
    const runId = await queuedRun();
    await q.holdLive(runId);
    await startRun(db(), runId);
    const pass = await reconciler().reconcileOnce({ ignoreAge: true });
    expect(pass).toMatchObject({ retried: 0, failed: 0, reenqueued: 0 });
    expect(await statusOf(runId)).toMatchObject({ status: 'running', attempt: 1 });
  });

  it('lets only one instance reconcile at a time', async () => {
    const [a, b, closeLeases] = q.leases();
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
      queue: q.driver.queue,
      lease: a,
      logger,
      intervalMs: 1000,
      afterS: 30,
      maxAttempts: 2,
    });
    expect(await follower.reconcileOnce({ ignoreAge: true })).toMatchObject({ leader: false });
    expect(await q.waiting(runId)).toBe(false);
    await b.release();
    await closeLeases();
  });
});

describe('the PostgreSQL lease', () => {
  it('passes to a standby at its next attempt once the holder session dies', async () => {
    const holder = createSessionConnection({
      access: { url: database.url },
      applicationName: 'lease-holder',
    });
    const standby = createSessionConnection({
      access: { url: database.url },
      applicationName: 'lease-standby',
    });
    const a = createPgLease(holder, 'reconciler');
    const b = createPgLease(standby, 'reconciler');
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    await querySql(
      database.url,
      "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'lease-holder'",
    );
    expect(await b.acquire()).toBe(true);
    // The old holder notices it lost the lease instead of acting as a second leader.
    expect(await a.acquire().catch(() => false)).toBe(false);
    await Promise.all([holder.close(), standby.close()]);
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
