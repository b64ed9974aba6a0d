import { Queue } from 'bullmq';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBullmqQueueDepth } from '../../../runtime/metrics/bullmq-queue-depth';
import { createEmfSink } from '../../../runtime/metrics/emf-sink';
import { type MetricsLoop, startMetricsLoop } from '../../../runtime/metrics/metrics-loop';
import { createRedisPublisherLock } from '../../../runtime/metrics/publisher-lock';
import { RUN_QUEUE_NAME } from '../../../runtime/queue/run-queue';
import { randomQueuePrefix } from '../../support/database';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy';

/**
 * The APP's depth publishing across a Redis outage, on real Redis: the loop reaches it through
 * a proxy the test takes down and brings back, and publishes EMF lines into an array.
 */
const INTERVAL_MS = 200;

let proxy: TcpProxy;
let prefix: string;
let queue: Queue;
let loop: MetricsLoop | undefined;
let closeDepth: (() => Promise<void>) | undefined;

beforeEach(async () => {
  proxy = await startTcpProxy(6379);
  prefix = randomQueuePrefix();
  queue = new Queue(RUN_QUEUE_NAME, { connection: { host: '127.0.0.1', port: 6379 }, prefix });
});

afterEach(async () => {
  await loop?.close();
  await closeDepth?.();
  await proxy.close();
  await queue.obliterate({ force: true });
  await queue.close();
});

describe('queue depth across a Redis outage', () => {
  it('is published again as soon as Redis answers, not after the publish back-off', async () => {
    await queue.add('run', { runId: 'r1', replyTo: null }, { jobId: 'r1' });
    const depth = createBullmqQueueDepth({ url: `redis://127.0.0.1:${proxy.port}` }, prefix);
    closeDepth = depth.close;
    const published: { at: number; QueueWaiting?: number }[] = [];
    const warnings: { msg: string }[] = [];
    loop = startMetricsLoop({
      sink: createEmfSink(
        { namespace: 'Sluice', dimensionName: 'Deployment', deploymentName: 'outage' },
        (line) => published.push({ ...JSON.parse(line), at: Date.now() }),
      ),
      intervalMs: INTERVAL_MS,
      drainRunMetrics: () => [],
      depth: {
        read: depth.read,
        lock: createRedisPublisherLock(depth.redis, `${prefix}:lock`, 'app-a', INTERVAL_MS * 1.5),
      },
      logger: pino(
        { level: 'warn' },
        { write: (line: string) => warnings.push(JSON.parse(line) as (typeof warnings)[number]) },
      ),
    });
    const depthAfter = (since: number) =>
      published.filter((p) => p.at > since && p.QueueWaiting !== undefined);
    await vi.waitFor(() => expect(depthAfter(0)).not.toHaveLength(0), { timeout: 10_000 });

    // Redis is down for 6 s (a failover, a restart): depth cannot be read meanwhile, nothing
    // stands in for it (no zero), and the failure is logged.
    proxy.refuse(true);
    const downAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect(depthAfter(downAt + 1500)).toEqual([]);
    // One line for the outage, not one per check.
    expect(warnings.map((w) => w.msg)).toEqual(['queue depth not read']);

    proxy.refuse(false);
    const backAt = Date.now();
    // ioredis reconnects within 2 s; the next check publishes the waiting job. Before, each
    // failed check (about one a second here, one every 2.5 s deployed) doubled the publish
    // back-off meant for CloudWatch, up to 64 intervals after the last failure: 12.8 s here,
    // and about 10 minutes after any outage over about 20 s at the deployed 10 s interval.
    await vi.waitFor(() => expect(depthAfter(backAt)).not.toHaveLength(0), {
      timeout: 6000,
      interval: 20,
    });
    expect(depthAfter(backAt)[0]?.QueueWaiting).toBe(1);
  });
});
