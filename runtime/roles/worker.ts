import type { Logger } from 'pino';
import type { Database } from '../db/client';
import { createFlowRunner } from '../engine';
import type { Env } from '../env';
import type { ReplyBus } from '../queue/reply-bus';
import type { QueueDriver } from '../queue/run-queue';
import type { FileStore } from '../storage';
import { createRunProcessor } from '../worker/process-run';
import { createRunLogWriter } from '../worker/run-log-writer';

export interface WorkerDeps {
  env: Env;
  db: Database;
  driver: QueueDriver;
  store: FileStore;
  replies: Pick<ReplyBus, 'publish'>;
  logger: Logger;
}

export interface RunningWorker {
  /** Stops taking jobs, lets the running ones finish, then flushes pending run logs. */
  close(): Promise<void>;
}

export function startWorker({
  env,
  db,
  driver,
  store,
  replies,
  logger,
}: WorkerDeps): RunningWorker {
  const runner = createFlowRunner({
    codeTimeoutMs: env.SLUICE_CODE_TIMEOUT_MS,
    codeMemoryMb: env.SLUICE_CODE_MEMORY_MB,
    httpTimeoutMs: env.SLUICE_HTTP_TIMEOUT_MS,
    httpMaxResponseBytes: env.httpMaxResponseBytes,
    maxLoopIterations: env.SLUICE_MAX_LOOP_ITERATIONS,
    maxStepOutputBytes: env.maxStepOutputBytes,
    maxRunLogBytes: env.maxRunLogBytes,
    allowPrivateNetwork: env.SLUICE_HTTP_ALLOW_PRIVATE,
  });
  const logs = createRunLogWriter({ db, store, logger });
  const processor = createRunProcessor({
    db,
    logs,
    runner,
    replies,
    flowTimeoutMs: env.SLUICE_FLOW_TIMEOUT_S * 1000,
    logger,
  });
  const consumer = driver.consume(processor, env.SLUICE_WORKER_CONCURRENCY);
  return {
    async close() {
      await consumer.close();
      await logs.drain();
      runner.dispose();
    },
  };
}
