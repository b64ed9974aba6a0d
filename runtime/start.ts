import { randomUUID } from 'node:crypto';
import { flushCompileCache } from 'node:module';
import { closeInOrder } from './close-in-order';
import { ensureDataDir } from './data-dir';
import { DatabaseUnreachableError } from './db/database-unreachable-error';
import { EmbeddedDatabaseError } from './db/embedded-database-error';
import { SchemaWaitTimeoutError } from './db/schema-wait-timeout-error';
import { EnvError, readProcessEnv } from './env';
import { exitAfterCleanStop } from './exit-after-clean-stop';
import { HAND_OVER_BUDGET_S, NO_NODE_SNAPSHOT_FLAG } from './limits';
import { safeError } from './log-safe-error';
import { createLogger } from './logger';
import { createProcessMetrics } from './metrics/create-metrics';
import {
  assertQueueServiceAnswers,
  createDepthSource,
  createFileStore,
  createIdleRelease,
  createLiveWorkers,
  createQueueBoardIfEnabled,
  createQueueDriver,
  createReconcilerLease,
  createReplyBus,
  createSchedulerLease,
  openDatabase,
  openSecretStore,
} from './parts';
import { RedisUnreachableError } from './queue/redis-unreachable-error';
import { createRetentionPruner } from './reliability/retention-pruner';
import { createRunReconciler } from './reliability/run-reconciler';
import { createScheduleTicker, SCHEDULE_PASS_MS } from './reliability/schedule-ticker';
import type { RunningWorker } from './roles/worker';
import { SecretsKeyMismatchError } from './secrets/secrets-key-mismatch-error';
import { endProcessNow } from './worker/end-process-now';
import { startWorkerLiveness } from './worker/start-liveness';

/** Starts the role(s) named by SLUICE_ROLE: app, worker, or all in one process. */
async function main(): Promise<void> {
  const env = readProcessEnv();
  const instanceId = env.SLUICE_INSTANCE_ID ?? randomUUID();
  const role = env.SLUICE_ROLE;
  const logger = createLogger(env.SLUICE_LOG_LEVEL, { role, instanceId });
  const runsApp = role !== 'worker';
  const runsWorker = role !== 'app';
  if (runsWorker && !process.execArgv.includes(NO_NODE_SNAPSHOT_FLAG)) {
    // isolated-vm crashes at random in a process started with Node's snapshot.
    throw new EnvError(
      `SLUICE_ROLE=${role} runs flows in isolated-vm and needs \`node ${NO_NODE_SNAPSHOT_FLAG}\``,
    );
  }

  // The embedded database, local file storage and their generated secrets live there.
  if (env.DATABASE_URL === undefined || env.SLUICE_STORAGE === 'local') {
    ensureDataDir(env.SLUICE_DATA_DIR);
  }

  let worker: RunningWorker | null | undefined = null;
  // Up first, so the container health check passes while the database schema is awaited.
  const liveness = runsWorker ? await startWorkerLiveness(env, () => worker, logger) : null;

  // Each role's code is loaded only when the role runs (a worker never parses the HTTP API,
  // an app never parses the flow runner), while the database connects.
  const rolesLoading = Promise.all([
    runsApp ? import('./roles/app') : null,
    runsWorker ? import('./roles/worker') : null,
  ]);
  // Checked while the database connects; awaited after it, so a bad database is named first.
  const queueServiceAnswers = assertQueueServiceAnswers(env);
  queueServiceAnswers.catch(() => undefined); // awaited below; this only marks it handled
  const database = await openDatabase(env, logger);
  await queueServiceAnswers;
  // The first API key is seeded while the queue, reply channel and metrics connect.
  const seeding = runsApp
    ? import('./roles/seed-api-key').then((seed) => seed.seedApiKey(env, database.db, logger))
    : null;
  const [appRole, workerRole] = await rolesLoading;
  const secrets = await openSecretStore(env, database);

  const driver = await createQueueDriver(env, logger, database.db, instanceId);
  // What rests while this process is idle, so that a serverless Aurora can pause (sqs only).
  const idle = createIdleRelease(env, logger);
  const { store, localStore } = createFileStore(env);
  const [replies, metrics] = await Promise.all([
    createReplyBus(env, instanceId, { subscribe: runsApp, db: database.db, idle }),
    createProcessMetrics(env, {
      depth: runsApp ? () => createDepthSource(env, instanceId, database.db, idle) : undefined,
      logger,
    }),
    seeding,
  ]);

  const queueBoard = runsApp ? await createQueueBoardIfEnabled(env) : undefined;
  const liveWorkers = runsApp ? createLiveWorkers(env, database.db) : undefined;
  const app = runsApp
    ? await appRole?.startApp({
        env,
        database,
        queue: driver.queue,
        replies,
        store,
        localStore,
        secrets,
        logger,
        queueBoard: queueBoard?.app,
        runMetrics: metrics.runs,
        liveWorkers,
        idle,
      })
    : null;
  worker = runsWorker
    ? workerRole?.startWorker({
        env,
        db: database.db,
        driver,
        store,
        secrets,
        replies,
        logger,
        runMetrics: metrics.runs,
        onSandboxLost: (reason) =>
          endProcessNow(
            logger,
            'a code-step isolate cannot be reclaimed; ending the worker',
            reason,
          ),
      })
    : null;

  // Outbox reconciler and stuck-run reaper. Embedded jobs live in memory, so there its first
  // pass takes every run a previous process left unfinished, whatever its age.
  const reconciler = runsApp
    ? createRunReconciler({
        db: database.db,
        queue: driver.queue,
        lease: createReconcilerLease(env, instanceId),
        logger,
        intervalMs: env.SLUICE_RECONCILE_INTERVAL_S * 1000,
        afterS: env.SLUICE_RECONCILE_AFTER_S,
        maxAttempts: env.SLUICE_MAX_ATTEMPTS,
        runMetrics: metrics.runs,
        firstPassIgnoresAge: driver.kind === 'in-process',
        prune: createRetentionPruner({
          db: database.db,
          store,
          logger,
          runRetentionDays: env.SLUICE_RUN_RETENTION_DAYS,
          fileRetentionDays: env.SLUICE_FILE_RETENTION_DAYS,
          // The embedded database runs on this thread: a 1,000-run batch with 64 KiB logs held
          // the event loop about 0.6 s, so it prunes in tenths (as many runs a pass).
          ...(env.DATABASE_URL === undefined ? { batchSize: 100, maxBatchesPerPass: 200 } : {}),
        }),
        idle,
      })
    : null;
  reconciler?.start();
  const scheduler = runsApp
    ? createScheduleTicker({
        db: database.db,
        queue: driver.queue,
        lease: createSchedulerLease(env, instanceId),
        logger,
        passIntervalMs: SCHEDULE_PASS_MS,
        missedWindowMs: env.SLUICE_SCHEDULE_MISSED_WINDOW_S * 1000,
        minIntervalMs: env.SLUICE_SCHEDULE_MIN_INTERVAL_S * 1000,
        idle,
      })
    : null;
  scheduler?.start();
  logger.info({ port: app?.port }, `sluice ${role} ready`);
  // Everything start-up compiles is written now: a process that is later killed keeps it too.
  flushCompileCache();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // At the drain deadline the runs still in flight go back to the queue for another worker.
    // Their flows stop with it, so the closing below then finishes.
    let handingOver: Promise<true> | undefined;
    const drainTimer = setTimeout(() => {
      handingOver = handOverInFlight();
    }, env.SLUICE_DRAIN_TIMEOUT_S * 1000);
    drainTimer.unref();
    // Whatever a flow or a dependency does, the process ends soon after the drain deadline.
    const handOverDeadline = setTimeout(
      () => endProcessNow(logger, 'drain deadline passed and the hand-over did not finish'),
      (env.SLUICE_DRAIN_TIMEOUT_S + HAND_OVER_BUDGET_S) * 1000,
    );
    handOverDeadline.unref();
    const closed = await closeInOrder(
      [
        { name: 'http server', close: () => app?.close() },
        { name: 'run reconciler', close: () => reconciler?.close() },
        { name: 'schedule ticker', close: () => scheduler?.close() },
        { name: 'worker', close: () => worker?.close() },
        { name: 'worker liveness', close: () => liveness?.stop() },
        { name: 'metrics', close: () => metrics.close() },
        { name: 'queue board', close: () => queueBoard?.close() },
        { name: 'live workers', close: () => liveWorkers?.close() },
        { name: 'reply bus', close: () => replies.close() },
        { name: 'run queue', close: () => driver.queue.close() },
        { name: 'database', close: () => database.close() },
      ],
      logger,
    );
    // 0 also when a worker handed its runs over: nothing in flight was lost.
    const handedOver = handingOver !== undefined && (await handingOver);
    logger.info({ clean: closed, handedOver }, 'stopped');
    if (closed || handedOver) exitAfterCleanStop();
    else process.exit(1);
  };
  /** Resolves once the runs in hand are back on the queue; ends the process (1) when they cannot be. */
  const handOverInFlight = async (): Promise<true> => {
    if (worker === null || worker === undefined) {
      logger.warn('drain timeout reached; exiting with work in flight');
      process.exit(1);
    }
    try {
      await worker.handOver();
      // Sync callers here wait for runs this process no longer runs (handed back, or still
      // queued for a worker that has stopped taking jobs): answered now from the run row, so
      // the HTTP server can close before the hand-over budget ends the process.
      replies.endWaits();
      return true;
    } catch (error) {
      logger.error({ err: error }, 'drain timeout reached; hand-over failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (
    error instanceof EnvError ||
    error instanceof SchemaWaitTimeoutError ||
    error instanceof DatabaseUnreachableError ||
    error instanceof EmbeddedDatabaseError ||
    error instanceof RedisUnreachableError ||
    error instanceof SecretsKeyMismatchError
  ) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`sluice failed to start: ${safeError(error).stack ?? String(error)}\n`);
  }
  process.exit(1);
});
