import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { insertQueuedRun } from '../../../runtime/db/run-store';
import { type Env, parseEnv } from '../../../runtime/env';
import { createFileStore, createQueueDriver } from '../../../runtime/parts';
import { LOST_HOLD_GRACE_MS } from '../../../runtime/queue/run-holds';
import type { QueueDriver } from '../../../runtime/queue/run-queue';
import { soleLease } from '../../../runtime/reliability/leader-lease';
import {
  createRunReconciler,
  type ReconcilePass,
} from '../../../runtime/reliability/run-reconciler';
import { type RunningWorker, startWorker } from '../../../runtime/roles/worker';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { type RunningFauxqs, sqsEnv, startFauxqsServer } from '../../support/fauxqs';
import { startGatedServer } from '../../support/gated-server';
import { testSecretStore } from '../../support/secrets';
import { querySql } from '../../support/sql';

/**
 * An sqs worker's PostgreSQL session ends while its run is in flight (a terminated backend, a
 * PostgreSQL restart): its holds are gone until its next probe opens a new session and takes
 * them back. Real workers, PostgreSQL and fauxqs; the run's `http` step waits at a gate the
 * test opens, so the run lasts exactly as long as the test needs and a second execution shows
 * as a second call.
 */
const logger = pino({ level: 'silent' });
let database: TestDatabase;
let fauxqs: RunningFauxqs;
let dataDir: string;
let projectId: string;
let gate: Awaited<ReturnType<typeof startGatedServer>>;
let flow: { id: string; versionId: string };
let env: Env;
let app: QueueDriver;
let drivers: QueueDriver[] = [];
let workers: RunningWorker[] = [];

beforeAll(async () => {
  fauxqs = await startFauxqsServer();
  database = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-session-drop-'));
  ({ projectId } = await createProjectWithKey(database.handle.db, {
    name: 'session-drop',
    apiKey: generateApiKey(),
  }));
}, 30_000);

beforeEach(async () => {
  gate = await startGatedServer();
  flow = await createFlow(database.handle.db, {
    projectId,
    name: 'gated',
    definition: {
      name: 'gated',
      trigger: { type: 'webhook' },
      steps: [{ id: 'call', type: 'http', method: 'POST', url: gate.url, body: { n: 1 } }],
    },
    webhookSecret: null,
  });
  env = parseEnv({
    DATABASE_URL: database.url,
    ...sqsEnv(fauxqs.endpoint, fauxqs.createQueue()),
    SLUICE_DATA_DIR: dataDir,
    SLUICE_HTTP_ALLOW_PRIVATE: 'true',
    SLUICE_HTTP_TIMEOUT_MS: '60000',
    SLUICE_RECONCILE_AFTER_S: '1',
    SLUICE_IDLE_RELEASE_S: '0',
  });
  app = await createQueueDriver(env, logger, database.handle.db);
});

afterEach(async () => {
  gate.open();
  for (const worker of workers) await worker.close().catch(() => undefined);
  for (const driver of drivers) await driver.queue.close();
  workers = [];
  drivers = [];
  await app.queue.close();
  await gate.close();
});

afterAll(async () => {
  await database?.drop();
  await fauxqs?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function startWorkers(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const driver = await createQueueDriver(env, logger, database.handle.db);
    drivers.push(driver);
    workers.push(
      startWorker({
        env,
        db: database.handle.db,
        secrets: testSecretStore(database.handle.db),
        driver,
        store: createFileStore(env).store,
        replies: { publish: async () => undefined },
        logger,
      }),
    );
  }
}

/** The test's reconciler: the sole leader, passing on runs older than 1 s. */
function reconcilerOf(options: { maxAttempts: number; now?: () => number }) {
  return createRunReconciler({
    db: database.handle.db,
    queue: app.queue,
    lease: soleLease,
    logger,
    intervalMs: 1000,
    afterS: 1,
    ...options,
  });
}

async function enqueueRun(): Promise<string> {
  const runId = randomUUID();
  await insertQueuedRun(database.handle.db, {
    id: runId,
    projectId,
    flowId: flow.id,
    flowVersionId: flow.versionId,
    trigger: { body: {}, headers: {}, query: {} },
  });
  await app.queue.enqueue({ runId, replyTo: null });
  return runId;
}

const rowOf = async (runId: string) =>
  (
    await querySql<{ status: string; attempt: number; error: string | null }>(
      database.url,
      'select status, attempt, error from runs where id = $1',
      [runId],
    )
  )[0];

/** The backend of the worker session that holds the run, if any. */
async function holderOf(runId: string): Promise<number | undefined> {
  const [row] = await querySql<{ pid: number }>(
    database.url,
    `select pid from pg_locks
      where locktype = 'advisory' and granted and objsubid = 2 and objid = hashtext($1)::oid
        and database = (select oid from pg_database where datname = current_database())`,
    [runId],
  );
  return row?.pid;
}

/**
 * Waits until the session's next probe: its worker re-takes its holds at the probe after, a
 * whole probe interval from now, so a drop now leaves the longest gap a live worker has.
 */
async function afterItsNextProbe(pid: number): Promise<void> {
  const startOf = async () =>
    (
      await querySql<{ at: string }>(
        database.url,
        'select query_start::text as at from pg_stat_activity where pid = $1',
        [pid],
      )
    )[0]?.at;
  const before = await startOf();
  await vi.waitFor(
    async () => {
      if ((await startOf()) === before) throw new Error('no probe yet');
    },
    { timeout: 10_000, interval: 20 },
  );
}

const terminate = (pid: number) =>
  querySql(database.url, 'select pg_terminate_backend($1, 5000)', [pid]);

/** A worker session other than `oldPid` that has opened and finished taking its holds back. */
async function sessionReplaced(oldPid: number): Promise<void> {
  await vi.waitFor(
    async () => {
      const rows = await querySql(
        database.url,
        `select pid from pg_stat_activity
          where datname = current_database() and application_name = 'sluice-worker'
            and pid <> $1 and state = 'idle' and query not ilike '%advisory%'`,
        [oldPid],
      );
      if (rows.length === 0) throw new Error('no new worker session yet');
    },
    { timeout: 15_000, interval: 50 },
  );
}

const ended = (runId: string, timeout = 15_000) =>
  vi.waitFor(
    async () => {
      const row = await rowOf(runId);
      if (row?.status === 'queued' || row?.status === 'running') throw new Error('unfinished');
    },
    { timeout, interval: 100 },
  );

describe("when an sqs worker's session drops while its run waits on a step", () => {
  it.each([2, 1])(
    'neither runs it again nor fails it as worker_lost (SLUICE_MAX_ATTEMPTS=%i) while the worker takes its hold back',
    async (maxAttempts) => {
      await startWorkers(2);
      const runId = await enqueueRun();
      await vi.waitFor(() => expect(gate.requests()).toBe(1), { timeout: 15_000, interval: 20 });
      const pid = await holderOf(runId);
      expect(pid).toBeDefined();
      await afterItsNextProbe(pid ?? 0);
      await terminate(pid ?? 0);
      expect(await holderOf(runId)).toBeUndefined();

      const reconciler = reconcilerOf({ maxAttempts });
      // Passes every 200 ms, from the drop until the hold is back, and one more.
      const passes: ReconcilePass[] = [];
      const deadline = Date.now() + 15_000;
      while ((await holderOf(runId)) === undefined) {
        if (Date.now() > deadline) throw new Error('the hold never came back');
        passes.push(await reconciler.reconcileOnce({ ignoreAge: true }));
        await new Promise((done) => setTimeout(done, 200));
      }
      passes.push(await reconciler.reconcileOnce({ ignoreAge: true }));
      gate.open();
      await ended(runId);

      expect(await rowOf(runId)).toEqual({ status: 'succeeded', attempt: 1, error: null });
      expect(gate.requests()).toBe(1);
      expect(passes.filter((pass) => pass.retried + pass.failed > 0)).toEqual([]);
      // The passes spanned the whole gap, not one lucky moment.
      expect(passes.length).toBeGreaterThan(5);
    },
    60_000,
  );

  it('leaves a run the reconciler sent again meanwhile to the new message, taking back only the holds of runs it still owns', async () => {
    await startWorkers(1);
    const runId = await enqueueRun();
    await vi.waitFor(() => expect(gate.requests()).toBe(1), { timeout: 15_000, interval: 20 });
    const pid = (await holderOf(runId)) ?? 0;
    await afterItsNextProbe(pid);
    await terminate(pid);

    // A reconciler that saw the hold missing past its grace (a worker slow to take it back):
    // its clock moves on between two passes. The run is queued again and its message re-sent.
    let now = Date.now();
    const reconciler = reconcilerOf({ maxAttempts: 2, now: () => now });
    expect(await reconciler.reconcileOnce({ ignoreAge: true })).toMatchObject({ retried: 0 });
    now += LOST_HOLD_GRACE_MS + 1;
    expect(await reconciler.reconcileOnce({ ignoreAge: true })).toMatchObject({ retried: 1 });
    expect(await rowOf(runId)).toMatchObject({ status: 'queued', attempt: 1 });

    // The first worker's next probe opens a new session; only then does a second worker start,
    // and it receives the re-sent message.
    await sessionReplaced(pid);
    await startWorkers(1);
    // The second worker takes the run and reaches its step while the first one's call still
    // waits (a worker that dropped the message as a duplicate never calls).
    await vi.waitFor(() => expect(gate.requests()).toBe(2), { timeout: 15_000, interval: 20 });
    gate.open();
    await ended(runId);

    // Run by the second worker; the first one's late outcome was refused by the fence.
    expect(await rowOf(runId)).toEqual({ status: 'succeeded', attempt: 2, error: null });
  }, 60_000);
});
