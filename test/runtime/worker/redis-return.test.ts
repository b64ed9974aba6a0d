import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runs } from '../../../runtime/db/schema';
import { type Env, parseEnv } from '../../../runtime/env';
import { createFileStore, createQueueDriver, createReplyBus } from '../../../runtime/parts';
import type { ReplyBus } from '../../../runtime/queue/reply-bus';
import type { QueueDriver } from '../../../runtime/queue/run-queue';
import { type RunningWorker, startWorker } from '../../../runtime/roles/worker';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../../support/database';
import { replyFlowIn } from '../../support/queued-runs';
import { testSecretStore } from '../../support/secrets';
import { startThrowawayRedis, type ThrowawayRedis } from '../../support/throwaway-redis';

/** README, Guarantees: "service resumes within 5 s without a restart ... workers reconnect". */
const RESUME_PROMISE_MS = 5000;

let redis: ThrowawayRedis;
let database: TestDatabase;
let env: Env;
let workerDriver: QueueDriver;
let replies: ReplyBus;
let worker: RunningWorker;
let dataDir: string;
let queueRun: () => Promise<string>;

beforeAll(async () => {
  [redis, database] = await Promise.all([startThrowawayRedis(), createTestDatabase()]);
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-redis-return-'));
  env = parseEnv({
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
    SLUICE_DATA_DIR: dataDir,
  });
  const logger = pino({ level: 'silent' });
  workerDriver = await createQueueDriver(env, logger);
  replies = await createReplyBus(env, randomUUID(), { subscribe: false });
  worker = startWorker({
    env,
    db: database.handle.db,
    secrets: testSecretStore(database.handle.db),
    driver: workerDriver,
    store: createFileStore(env).store,
    replies,
    logger,
  });
  ({ queueRun } = await replyFlowIn(database.handle.db));
}, 30_000);
afterAll(async () => {
  await redis?.start().catch(() => undefined); // the worker's close needs its Redis
  await worker?.close();
  await replies?.close();
  await workerDriver?.queue.close();
  await database?.drop();
  await redis?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Commits a run and enqueues it through a fresh APP-side connection (so only the worker's
 * reconnect is measured), retrying the enqueue until Redis takes it. */
async function submitRun(): Promise<string> {
  const runId = await queueRun();
  const app = await createQueueDriver(env, pino({ level: 'silent' }));
  try {
    await vi.waitFor(() => app.queue.enqueue({ runId, replyTo: null }), {
      timeout: RESUME_PROMISE_MS,
      interval: 50,
    });
  } finally {
    await app.queue.close();
  }
  return runId;
}

const statusOf = async (runId: string) =>
  (await database.handle.db.select().from(runs).where(eq(runs.id, runId)))[0]?.status;

describe('when Redis goes away and comes back (no persistence: its jobs are gone)', () => {
  it('the worker takes new jobs within 5 s of Redis returning, without a restart', async () => {
    const before = await submitRun();
    await vi.waitFor(async () => expect(await statusOf(before)).toBe('succeeded'), {
      timeout: 10_000,
      interval: 50,
    });

    await redis.stop();
    // Long enough for the worker's reconnect back-off to reach its 2 s cap.
    await new Promise((done) => setTimeout(done, 3000));
    await redis.start();
    const returned = Date.now();

    const after = await submitRun();
    await vi.waitFor(async () => expect(await statusOf(after)).toBe('succeeded'), {
      timeout: RESUME_PROMISE_MS - (Date.now() - returned),
      interval: 50,
    });
    expect(Date.now() - returned).toBeLessThan(RESUME_PROMISE_MS);
  }, 30_000);
});
