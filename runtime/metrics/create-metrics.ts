import type { Logger } from 'pino';
import type { Env } from '../env';
import { METRICS_DIMENSION, METRICS_NAMESPACE } from '../limits';
import { createEmfSink } from './emf-sink';
import type { MetricSink } from './metric-sink';
import type { DepthResting } from './metrics-loop';
import { startMetricsLoop } from './metrics-loop';
import type { PublisherLock } from './publisher-lock';
import type { ReadQueueDepth } from './queue-depth';
import { createRunMetrics, type RunMetrics } from './run-metrics';

export interface ProcessMetrics {
  /**
   * Recorders for the worker (runs) and the APP (sync webhook latency, runs its reconciler
   * failed); no-ops when off.
   */
  readonly runs: RunMetrics;
  close(): Promise<void>;
}

/** The queue's depth and the lock that elects its one publisher, built for the queue driver. */
export interface DepthSource {
  read: ReadQueueDepth;
  lock: PublisherLock;
  /**
   * While the process is quiet, depth is neither read nor published, and `rest` gives up the
   * lock and its connection (the sqs queue, whose scaling reads AWS's own SQS metrics).
   * @default - depth is always published
   */
  resting?: DepthResting;
  close(): Promise<void>;
}

const noRunMetrics: RunMetrics = {
  recordRun: () => undefined,
  recordLostRun: () => undefined,
  recordSyncWebhook: () => undefined,
  recordMisroutedJob: () => undefined,
  drain: () => [],
};

/** Chooses the SLUICE_METRICS driver and starts this process's one metrics loop. */
export async function createProcessMetrics(
  env: Env,
  {
    depth,
    logger,
  }: {
    /** APP instances only; undefined where depth drives no scaling (embedded mode). */
    depth: (() => Promise<DepthSource | undefined>) | undefined;
    logger: Logger;
  },
): Promise<ProcessMetrics> {
  const sink = await createSink(env);
  if (sink === undefined) return { runs: noRunMetrics, close: async () => undefined };
  const runs = createRunMetrics();
  const source = await depth?.();
  const loop = startMetricsLoop({
    sink,
    intervalMs: env.SLUICE_METRICS_INTERVAL_S * 1000,
    drainRunMetrics: runs.drain,
    depth: source && { read: source.read, lock: source.lock, resting: source.resting },
    logger,
  });
  return {
    runs,
    async close() {
      await loop.close();
      await source?.close();
    },
  };
}

async function createSink(env: Env): Promise<MetricSink | undefined> {
  const target = {
    namespace: METRICS_NAMESPACE,
    dimensionName: METRICS_DIMENSION,
    deploymentName: env.SLUICE_DEPLOYMENT_NAME,
  };
  switch (env.SLUICE_METRICS) {
    case 'off':
      return undefined;
    case 'emf':
      return createEmfSink(target);
    case 'cloudwatch': {
      // The SDK client is large: only processes that publish to CloudWatch load it.
      const { createCloudWatchSink } = await import('./cloudwatch-sink');
      return createCloudWatchSink({
        ...target,
        region: env.SLUICE_METRICS_REGION,
        endpoint: env.SLUICE_METRICS_ENDPOINT,
      });
    }
  }
}
