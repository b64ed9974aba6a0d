import type { Logger } from 'pino';
import type { Database } from '../db/client';
import { createFlowRunner } from '../engine';
import type { Env } from '../env';
import type { ReplyBus } from '../queue/reply-bus';
import type { QueueDriver, RunConsumer } from '../queue/run-queue';
import type { FileStore } from '../storage';
import { createRunProcessor } from '../worker/process-run';

export interface WorkerDeps {
  env: Env;
  db: Database;
  driver: QueueDriver;
  store: FileStore;
  replies: Pick<ReplyBus, 'publish'>;
  logger: Logger;
}

export function startWorker({ env, db, driver, store, replies, logger }: WorkerDeps): {
  consumer: RunConsumer;
  dispose(): void;
} {
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
  const processor = createRunProcessor({
    db,
    store,
    runner,
    replies,
    flowTimeoutMs: env.SLUICE_FLOW_TIMEOUT_S * 1000,
    logger,
  });
  const consumer = driver.consume(processor, env.SLUICE_WORKER_CONCURRENCY);
  return { consumer, dispose: () => runner.dispose() };
}
