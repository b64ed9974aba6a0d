import type { Logger } from 'pino';
import type { Env } from '../env';
import { METRICS_DIMENSION, METRICS_NAMESPACE } from '../limits';
import { createBullmqQueueDepth } from './bullmq-queue-depth';
import { createEmfSink } from './emf-sink';
import type { MetricSink } from './metric-sink';
import { startMetricsLoop } from './metrics-loop';
import { createRedisPublisherLock } from './publisher-lock';
import { createRunMetrics, type RunMetrics } from './run-metrics';

export interface ProcessMetrics {
  /** Recorders for the worker (runs) and the APP (sync webhook latency); no-ops when off. */
  readonly runs: RunMetrics;
  close(): Promise<void>;
}

const noRunMetrics: RunMetrics = {
  recordRun: () => undefined,
  recordSyncWebhook: () => undefined,
  recordMisroutedJob: () => undefined,
  drain: () => [],
};

/** Chooses the SLUICE_METRICS driver and starts this process's one metrics loop. */
export async function createProcessMetrics(
  env: Env,
  {
    instanceId,
    publishesDepth,
    logger,
  }: { instanceId: string; publishesDepth: boolean; logger: Logger },
): Promise<ProcessMetrics> {
  const sink = await createSink(env);
  if (sink === undefined) return { runs: noRunMetrics, close: async () => undefined };
  const runs = createRunMetrics();
  const intervalMs = env.SLUICE_METRICS_INTERVAL_S * 1000;
  const usesRedis = env.REDIS_URL !== undefined || env.REDIS_SENTINELS !== undefined;
  // Without Redis (embedded mode) the queue is in memory and there is one instance: depth of
  // an in-process queue drives no autoscaling, so only run metrics are published.
  const depth =
    publishesDepth && usesRedis
      ? createBullmqQueueDepth(
          {
            url: env.REDIS_URL,
            password: env.SLUICE_REDIS_PASSWORD,
            sentinels: env.REDIS_SENTINELS,
            sentinelMaster: env.REDIS_SENTINEL_MASTER,
          },
          env.SLUICE_QUEUE_PREFIX,
        )
      : undefined;
  const loop = startMetricsLoop({
    sink,
    intervalMs,
    drainRunMetrics: runs.drain,
    depth: depth && {
      read: depth.read,
      lock: createRedisPublisherLock(
        depth.redis,
        `${env.SLUICE_QUEUE_PREFIX}:metrics:depth-publisher`,
        instanceId,
        Math.round(intervalMs * 1.5),
      ),
    },
    logger,
  });
  return {
    runs,
    async close() {
      await loop.close();
      await depth?.close();
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
