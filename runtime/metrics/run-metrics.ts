import { METRIC } from '../limits';
import type { MetricDatum } from './metric-sink';

/** Run outcomes as the worker records them; other statuses (canceled) are not counted. */
export type RunOutcomeStatus = 'succeeded' | 'failed' | 'timed_out' | 'limit_exceeded' | 'canceled';

/**
 * Hot-path recorders: each call is a map update in memory. The metrics loop drains them once
 * per interval into one publish call.
 */
export interface RunMetrics {
  recordRun(status: RunOutcomeStatus, durationMs: number): void;
  /**
   * A run the reconciler failed with worker_lost: no worker lived to record it, and no one timed
   * it, so it counts in RunsFailed without a duration.
   */
  recordLostRun(): void;
  recordSyncWebhook(latencyMs: number): void;
  /** A job for a run this deployment's database does not know: a queue shared by mistake. */
  recordMisroutedJob(): void;
  /** The datums since the last drain; empty when nothing happened. */
  drain(): MetricDatum[];
}

export function createRunMetrics(): RunMetrics {
  let succeeded = 0;
  let failed = 0;
  let timedOut = 0;
  let misrouted = 0;
  let durations = new Map<number, number>();
  let syncLatencies = new Map<number, number>();
  const add = (histogram: Map<number, number>, ms: number) => {
    const value = Math.max(0, Math.round(ms));
    histogram.set(value, (histogram.get(value) ?? 0) + 1);
  };
  const distribution = (name: string, histogram: Map<number, number>): MetricDatum[] =>
    histogram.size === 0
      ? []
      : [
          {
            name,
            unit: 'Milliseconds',
            values: [...histogram.keys()],
            counts: [...histogram.values()],
          },
        ];

  return {
    recordRun(status, durationMs) {
      switch (status) {
        case 'succeeded':
          succeeded++;
          break;
        case 'timed_out':
          timedOut++;
          break;
        case 'failed':
        case 'limit_exceeded':
          failed++;
          break;
        case 'canceled':
          return;
      }
      add(durations, durationMs);
    },
    recordLostRun() {
      failed++;
    },
    recordSyncWebhook(latencyMs) {
      add(syncLatencies, latencyMs);
    },
    recordMisroutedJob() {
      misrouted++;
    },
    drain() {
      const data: MetricDatum[] = [];
      if (succeeded + failed + timedOut > 0) {
        // All three together, zeros included, so the failure rate has a denominator.
        data.push(
          { name: METRIC.runsSucceeded, unit: 'Count', values: [succeeded] },
          { name: METRIC.runsFailed, unit: 'Count', values: [failed] },
          { name: METRIC.runsTimedOut, unit: 'Count', values: [timedOut] },
        );
      }
      if (misrouted > 0) {
        data.push({ name: METRIC.misroutedJobs, unit: 'Count', values: [misrouted] });
      }
      data.push(...distribution(METRIC.runDurationMs, durations));
      data.push(...distribution(METRIC.syncWebhookLatencyMs, syncLatencies));
      succeeded = 0;
      failed = 0;
      timedOut = 0;
      misrouted = 0;
      durations = new Map();
      syncLatencies = new Map();
      return data;
    },
  };
}
