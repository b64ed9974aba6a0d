import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runs } from '../../../runtime/db/schema';
import { type Env, parseEnv } from '../../../runtime/env';
import { METRIC } from '../../../runtime/limits';
import { createRunMetrics, type RunMetrics } from '../../../runtime/metrics/run-metrics';
import { createFileStore, createQueueDriver, createReplyBus } from '../../../runtime/parts';
import type { QueueDriver } from '../../../runtime/queue/run-queue';
import { type RunningWorker, startWorker } from '../../../runtime/roles/worker';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../../support/database';
import { replyFlowIn } from '../../support/queued-runs';
import { testSecretStore } from '../../support/secrets';

/**
 * Two deployments on one Redis with the same queue prefix, each with its own database: the
 * mistake a shared default prefix made easy. Each runs the real worker role.
 */
interface Deployment {
  env: Env;
  database: TestDatabase;
  driver: QueueDriver;
  metrics: RunMetrics;
  logLines: Array<Record<string, unknown>>;
  startWorker(): void;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

async function deployment(prefix: string): Promise<Deployment> {
  const database = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-misrouted-'));
  const env = parseEnv({
    DATABASE_URL: database.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    SLUICE_QUEUE_PREFIX: prefix,
    SLUICE_DATA_DIR: dataDir,
  });
  const logLines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'warn' },
    { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const driver = await createQueueDriver(env, logger);
  const replies = await createReplyBus(env, randomUUID(), { subscribe: false });
  const { store } = createFileStore(env);
  const metrics = createRunMetrics();
  let worker: RunningWorker | undefined;
  return {
    env,
    database,
    driver,
    metrics,
    logLines,
    startWorker() {
      worker = startWorker({
        env,
        db: database.handle.db,
        secrets: testSecretStore(database.handle.db),
        driver,
        store,
        replies,
        logger,
        runMetrics: metrics,
      });
    },
    async stopWorker() {
      await worker?.close();
      worker = undefined;
    },
    async close() {
      await worker?.close();
      await replies.close();
      await driver.queue.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

let owner: Deployment;
let stranger: Deployment;

beforeAll(async () => {
  const prefix = randomQueuePrefix();
  [owner, stranger] = await Promise.all([deployment(prefix), deployment(prefix)]);
});
afterAll(async () => {
  await Promise.all([owner?.close(), stranger?.close()]);
});

describe('a job whose run this database does not know (two deployments sharing one queue)', () => {
  it('is logged at error with the run id and queue prefix, counted, and left for the deployment that owns it', async () => {
    const runId = await (await replyFlowIn(owner.database.handle.db)).queueRun();
    const ownerRow = async () =>
      (await owner.database.handle.db.select().from(runs).where(eq(runs.id, runId)))[0];

    // Only the stranger's worker is up when the owner enqueues.
    stranger.startWorker();
    await owner.driver.queue.enqueue({ runId, replyTo: null });

    const misrouted = await vi.waitFor(
      () => {
        const line = stranger.logLines.find((l) => l.runId === runId && l.level === 50);
        if (line === undefined) throw new Error('the stranger has not reported the job yet');
        return line;
      },
      { timeout: 10_000, interval: 20 },
    );
    expect(misrouted).toMatchObject({ queuePrefix: owner.env.SLUICE_QUEUE_PREFIX });
    expect(String(misrouted.msg)).toContain('does not know');
    expect(stranger.metrics.drain()).toContainEqual(
      expect.objectContaining({ name: METRIC.misroutedJobs, unit: 'Count' }),
    );
    // Not acknowledged as a duplicate: the job is still live (delayed for its owner), and the
    // owner's run was never touched.
    expect(await owner.driver.queue.liveJobIds([runId])).toEqual(new Set([runId]));
    expect(await ownerRow()).toMatchObject({ status: 'queued', attempt: 0 });

    // The owner's worker takes the job when it is offered again, with no reconciler running.
    // (The stranger stops first only so that which worker the offer reaches is not a coin toss.)
    await stranger.stopWorker();
    owner.startWorker();
    await vi.waitFor(
      async () => expect(await ownerRow()).toMatchObject({ status: 'succeeded', attempt: 1 }),
      { timeout: 20_000, interval: 100 },
    );
    expect(owner.logLines.filter((l) => l.level === 50)).toEqual([]);
  }, 40_000);
});
