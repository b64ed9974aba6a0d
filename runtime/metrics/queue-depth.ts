import { METRIC } from '../limits';
import type { MetricDatum } from './metric-sink';

export interface QueueDepth {
  waiting: number;
  active: number;
  /** Live workers BullMQ sees (named worker connections). */
  workers: number;
  /** Age of the oldest waiting job, 0 when none waits. */
  oldestWaitingAgeSeconds: number;
}

/** Reads the run queue's depth; a driver-specific port so the publisher stays testable. */
export type ReadQueueDepth = () => Promise<QueueDepth>;

/** The five depth metrics; BacklogPerWorker is what target tracking follows. */
export function depthMetrics(depth: QueueDepth): MetricDatum[] {
  const backlogPerWorker = (depth.waiting + depth.active) / Math.max(depth.workers, 1);
  return [
    { name: METRIC.queueWaiting, unit: 'Count', values: [depth.waiting] },
    { name: METRIC.queueActive, unit: 'Count', values: [depth.active] },
    {
      name: METRIC.oldestWaitingAgeSeconds,
      unit: 'Seconds',
      values: [depth.oldestWaitingAgeSeconds],
    },
    { name: METRIC.workers, unit: 'Count', values: [depth.workers] },
    { name: METRIC.backlogPerWorker, unit: 'None', values: [backlogPerWorker] },
  ];
}
