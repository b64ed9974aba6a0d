import type { Logger } from 'pino';
import type { MetricDatum, MetricSink } from './metric-sink';
import type { PublisherLock } from './publisher-lock';
import { depthMetrics, type ReadQueueDepth } from './queue-depth';

/** Lets depth publishing rest while the process is quiet (see DepthSource). */
export interface DepthResting {
  isQuiet(): boolean;
  /** Gives up the publisher lock and whatever connection held it. */
  rest(): Promise<void>;
}

export interface MetricsLoopOptions {
  sink: MetricSink;
  intervalMs: number;
  /** Run metrics recorded in memory since the last tick. */
  drainRunMetrics: () => MetricDatum[];
  /** APP instances only: queue depth, published by the lock holder alone. */
  depth?:
    | { read: ReadQueueDepth; lock: PublisherLock; resting?: DepthResting | undefined }
    | undefined;
  logger: Logger;
}

export interface MetricsLoop {
  /** Publishes what is pending, gives up the publisher lock and stops. */
  close(): Promise<void>;
}

/** Longest pause after repeated failures: 2^6 intervals (about 10 minutes at 10 s). */
const MAX_BACKOFF_EXPONENT = 6;

/**
 * The one timer that publishes this process's metrics, one sink call per interval.
 *
 * The depth lock is checked four times per interval, so a standby instance takes over within
 * TTL (1.5 intervals) plus a quarter interval after the holder dies, and publishes at once.
 * A failed publish is logged and backs off exponentially; it never throws into request paths.
 * A failed lock check or depth read is not the sink's failure: it publishes no depth (never a
 * stand-in zero), is logged once per outage, and the next check tries again, so depth is back
 * as soon as its source answers.
 */
export function startMetricsLoop(options: MetricsLoopOptions): MetricsLoop {
  const { sink, intervalMs, logger } = options;
  const checkMs = Math.max(50, Math.floor(intervalMs / 4));
  let holding = false;
  let lastPublish = 0;
  let failures = 0;
  let resumeAt = 0;
  let depthFailing = false;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  /** Runs a lock check or depth read; undefined when it failed (logged once per outage). */
  const fromDepthSource = async <T>(call: () => Promise<T>): Promise<T | undefined> => {
    try {
      const result = await call();
      if (depthFailing) logger.info('queue depth read again');
      depthFailing = false;
      return result;
    } catch (error) {
      if (!depthFailing) logger.warn({ err: error }, 'queue depth not read');
      depthFailing = true;
      return undefined;
    }
  };

  const publish = async (now: number, withDepth: boolean) => {
    const depth =
      withDepth && options.depth ? await fromDepthSource(options.depth.read) : undefined;
    const data = options.drainRunMetrics();
    if (depth !== undefined) data.push(...depthMetrics(depth));
    lastPublish = now;
    if (now < resumeAt || data.length === 0) return;
    await sink.publish(data, new Date(now));
    if (failures > 0) logger.info({ failures }, 'metrics publishing recovered');
    failures = 0;
  };

  let rested = false;
  const tick = async () => {
    const now = Date.now();
    try {
      const resting = options.depth?.resting;
      if (resting?.isQuiet() === true) {
        // Quiet: no depth read, no lock held, so the database is left alone.
        if (!rested) await resting.rest();
        rested = true;
        holding = false;
        if (now - lastPublish >= intervalMs) await publish(now, false);
        return;
      }
      rested = false;
      const wasHolding = holding;
      const lock = options.depth?.lock;
      holding = lock === undefined ? false : ((await fromDepthSource(() => lock.hold())) ?? false);
      if ((holding && !wasHolding) || now - lastPublish >= intervalMs) {
        await publish(now, holding);
      }
    } catch (error) {
      failures++;
      const skipIntervals = 2 ** Math.min(failures - 1, MAX_BACKOFF_EXPONENT);
      resumeAt = now + skipIntervals * intervalMs;
      // One line per back-off step, not per tick.
      logger.warn(
        { err: error, failures, retryInMs: skipIntervals * intervalMs },
        'metrics not published',
      );
    }
  };

  const timer = setInterval(() => {
    running = running.then(tick);
  }, checkMs);
  timer.unref();
  running = running.then(tick);

  return {
    async close() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await running;
      if (options.depth && holding) await options.depth.lock.release().catch(() => undefined);
      const pending = options.drainRunMetrics();
      if (pending.length > 0) {
        await sink.publish(pending, new Date()).catch((error: unknown) => {
          logger.warn({ err: error }, 'final metrics not published');
        });
      }
    },
  };
}
