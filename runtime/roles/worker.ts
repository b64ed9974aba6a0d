import type { Logger } from 'pino';
import type { Database } from '../db/client';
import { markRunsInterrupted } from '../db/run-interruption-store';
import { createFlowRunner } from '../engine';
import type { Env } from '../env';
import type { RunMetrics } from '../metrics/run-metrics';
import type { ReplyBus, RunReply } from '../queue/reply-bus';
import type { QueueDriver, RunConsumer } from '../queue/run-queue';
import type { SecretStore } from '../secrets/secret-store';
import type { FileStore } from '../storage';
import { createCancelWatch } from '../worker/cancel-watch';
import { createRunProcessor } from '../worker/process-run';
import { protectWhileRunning } from '../worker/protect-while-running';
import { createRunLogWriter } from '../worker/run-log-writer';
import { createEcsTaskProtection, noTaskProtection } from '../worker/task-protection';

export interface WorkerDeps {
  env: Env;
  db: Database;
  driver: QueueDriver;
  store: FileStore;
  secrets: SecretStore;
  replies: Pick<ReplyBus, 'publish' | 'notice'>;
  logger: Logger;
  runMetrics?: Pick<RunMetrics, 'recordRun' | 'recordMisroutedJob'> | undefined;
  /**
   * Told when a code-step isolate cannot be disposed; main ends the process, since a normal
   * exit would wait for the isolate's thread forever.
   * @default - logged only (an in-process test stack)
   */
  onSandboxLost?: (reason: string) => void;
}

export interface RunningWorker {
  /** Stops taking jobs at once, lets the running ones finish, then flushes pending run logs. */
  close(): Promise<void>;
  /**
   * At the drain deadline: marks the runs in hand interrupted and puts their jobs back at the
   * head of the queue for another worker, and stops their flows: close() then finishes.
   * Returns the run ids.
   */
  handOver(): Promise<string[]>;
  /** How long the running code step has held the isolate: 0 while it is free. */
  sandboxBusyForMs(): number;
  /** Whether the code sandbox runs a trivial step within `timeoutMs`. */
  sandboxAnswers(timeoutMs: number): Promise<boolean>;
}

export function startWorker({
  env,
  db,
  driver,
  store,
  secrets,
  replies,
  logger,
  runMetrics,
  onSandboxLost = (reason) => logger.error({ reason }, 'code sandbox lost an isolate'),
}: WorkerDeps): RunningWorker {
  const runner = createFlowRunner(
    {
      codeTimeoutMs: env.SLUICE_CODE_TIMEOUT_MS,
      codeMemoryMb: env.SLUICE_CODE_MEMORY_MB,
      httpTimeoutMs: env.SLUICE_HTTP_TIMEOUT_MS,
      httpMaxResponseBytes: env.httpMaxResponseBytes,
      maxLoopIterations: env.SLUICE_MAX_LOOP_ITERATIONS,
      maxStepOutputBytes: env.maxStepOutputBytes,
      maxRunLogBytes: env.maxRunLogBytes,
      allowPrivateNetwork: env.SLUICE_HTTP_ALLOW_PRIVATE,
    },
    { onSandboxLost },
  );
  const logs = createRunLogWriter({ db, store, logger });
  const cancelWatch = createCancelWatch(db, { intervalMs: env.SLUICE_CANCEL_POLL_MS, logger });
  // The consumer is made from the processor: replies take its publishReply once it exists.
  let publishOnConsumer: RunConsumer['publishReply'];
  const processor = createRunProcessor({
    db,
    logs,
    runner,
    secrets,
    replies: {
      publish: (to, reply) =>
        publishOnConsumer === undefined
          ? replies.publish(to, reply)
          : publishOnConsumer(to, JSON.stringify(reply)),
      // The bus's NOTIFY rides with the outcome's statement, unless replies take the consumer's way.
      ...(replies.notice === undefined
        ? {}
        : {
            notice: (to: string, reply: RunReply) =>
              publishOnConsumer === undefined ? replies.notice?.(to, reply) : undefined,
          }),
    },
    flowTimeoutMs: env.SLUICE_FLOW_TIMEOUT_S * 1000,
    logger,
    queuePrefix: driver.kind === 'bullmq' ? env.SLUICE_QUEUE_PREFIX : driver.kind,
    cancelWatch,
    inlineLogMaxBytes: env.SLUICE_INLINE_LOG_MAX_BYTES,
    ...(runMetrics === undefined ? {} : { runMetrics }),
  });
  const protection =
    env.ECS_AGENT_URI === undefined ? noTaskProtection : createEcsTaskProtection(env.ECS_AGENT_URI);
  const inHand = new Set<string>();
  const consumer = driver.consume(
    protectWhileRunning(
      async function trackedRun(job) {
        inHand.add(job.runId);
        try {
          await processor(job);
        } finally {
          inHand.delete(job.runId);
        }
      },
      {
        protection,
        // A run may take its flow timeout, then the drain window if SIGTERM arrives at its end.
        runBudgetMs: (env.SLUICE_FLOW_TIMEOUT_S + env.SLUICE_DRAIN_TIMEOUT_S) * 1000,
        logger,
      },
    ),
    env.SLUICE_WORKER_CONCURRENCY,
  );
  publishOnConsumer = consumer.publishReply?.bind(consumer);
  return {
    sandboxBusyForMs: () => runner.sandboxBusyForMs(),
    sandboxAnswers: (timeoutMs) => runner.sandboxAnswers(timeoutMs),
    async close() {
      await consumer.close();
      // Before the reply bus closes: a sync caller is answered, not left to its timeout.
      await processor.drainReplies();
      cancelWatch.close();
      await logs.drain();
      await runner.dispose();
    },
    async handOver() {
      // Whatever the flows stopped below end with is not recorded, not even for a run still
      // unclaimed (a flow with no side effects in its first 250 ms, which the row does not show).
      const handedBack = processor.handBack(inHand);
      // The row first: if the process dies before the job moves, the run is `queued` and the
      // reconciler re-enqueues it. Only at the attempt this worker claimed: a run another
      // worker has taken over since is not this worker's to hand back.
      await markRunsInterrupted(db, handedBack);
      const runIds = await consumer.handOver();
      if (runIds.length > 0) {
        logger.warn({ runIds }, 'drain timeout reached; runs handed back to the queue');
      }
      // Exiting while an isolate executes crashes isolated-vm (SIGSEGV), and exiting while its
      // thread is held never returns: stop the flows and wait until the isolates are gone (or
      // onSandboxLost has ended the process). Their late writes are fenced, since the runs are
      // no longer `running` at this attempt.
      await runner.dispose();
      await processor.drainReplies();
      return runIds;
    },
  };
}
