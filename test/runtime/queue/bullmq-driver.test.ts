import { Socket } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBullmqDriver } from '../../../runtime/queue/bullmq-driver';
import { RUN_QUEUE_NAME, type RunConsumer, type RunJob } from '../../../runtime/queue/run-queue';
import { UnknownRunError } from '../../../runtime/queue/unknown-run-error';
import { randomQueuePrefix } from '../../support/database';
import { startThrowawayRedis } from '../../support/throwaway-redis';

const REDIS_URL = 'redis://127.0.0.1:6379';

function driverOn(prefix: string, url = REDIS_URL) {
  return createBullmqDriver({
    redis: { url },
    prefix,
    failedJobRetentionDays: 1,
    failedJobRetentionCount: 100,
    stalledAfterMs: 30_000,
  });
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the bullmq driver', () => {
  let prefix: string;
  let driver: ReturnType<typeof driverOn>;
  let consumer: RunConsumer | undefined;
  let inspect: Queue;

  beforeEach(() => {
    prefix = randomQueuePrefix();
    driver = driverOn(prefix);
    inspect = new Queue(RUN_QUEUE_NAME, { connection: { host: '127.0.0.1', port: 6379 }, prefix });
  });

  afterEach(async () => {
    await consumer?.close();
    consumer = undefined;
    await inspect.obliterate({ force: true });
    await inspect.close();
    await driver.queue.close();
  });

  it('counts waiting, delayed and active jobs as live, and completed, failed and missing ones as dead', async () => {
    // Run ids are UUIDs in Sluice; these must not collide with BullMQ's own keys ('active', …).
    const job = (runId: string): RunJob => ({ runId, replyTo: null });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const processor = async ({ runId }: RunJob) => {
      if (runId === 'run-active') await held;
      if (runId === 'run-failed') throw new Error('the flow failed');
      // Misrouted: the driver delays the job for the deployment that owns the run.
      if (runId === 'run-delayed') throw new UnknownRunError(runId, prefix);
    };
    for (const runId of ['run-active', 'run-completed', 'run-failed', 'run-delayed']) {
      await driver.queue.enqueue(job(runId));
    }
    consumer = driver.consume(processor, 4);
    await until(async () => {
      const states = await Promise.all(
        ['run-active', 'run-completed', 'run-failed', 'run-delayed'].map((id) =>
          inspect.getJobState(id),
        ),
      );
      return states.join() === 'active,unknown,failed,delayed';
    });
    try {
      // Paused, the queue keeps a new job waiting rather than handing it to the consumer.
      await inspect.pause();
      await driver.queue.enqueue(job('run-waiting'));
      const ids = ['waiting', 'active', 'delayed', 'completed', 'failed', 'never-enqueued'].map(
        (state) => `run-${state}`,
      );
      const states = await Promise.all(ids.map((id) => inspect.getJobState(id)));
      expect(states).toEqual(['waiting', 'active', 'delayed', 'unknown', 'failed', 'unknown']);
      const live = await driver.queue.liveJobIds(ids);
      expect([...live].sort()).toEqual(['run-active', 'run-delayed', 'run-waiting']);
    } finally {
      release();
    }
  });

  it('answers an empty set for no ids without asking Redis', async () => {
    await driver.queue.close();
    expect(await driver.queue.liveJobIds([])).toEqual(new Set());
  });

  it('wakes an idle worker for a new job at once, although its poll waits 10 s', async () => {
    const started: number[] = [];
    consumer = driver.consume(async () => {
      started.push(Date.now());
    }, 1);
    // Past the first poll: the worker is now blocked waiting for work.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const enqueuedAt = Date.now();
    await driver.queue.enqueue({ runId: 'late', replyTo: null });
    await until(async () => started.length === 1, 15_000);
    // Waiting out the poll would take the 8.5 s left of it; a loaded box still wakes in ms.
    expect((started[0] ?? Infinity) - enqueuedAt).toBeLessThan(3000);
  });

  it("publishes a sync reply on the consumer's connection, in one write with its job's completion", async () => {
    const channel = `sluice:reply:${prefix}`;
    const subscriber = new Redis(REDIS_URL);
    const received: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => received.push(message));
    await subscriber.subscribe(channel);
    // What sockets write as one system call: a corked socket flushes its writes through _writev.
    const batches: string[] = [];
    const writev = Socket.prototype._writev;
    Socket.prototype._writev = function (this: Socket, chunks, callback) {
      batches.push(chunks.map(({ chunk }) => String(chunk)).join(''));
      writev?.call(this, chunks, callback);
    };
    try {
      consumer = driver.consume(async ({ runId }) => {
        // As the processor does: sent once the run is recorded, not awaited by the job.
        void consumer?.publishReply?.(channel, JSON.stringify({ runId }));
      }, 1);
      // The first job may come while the connection is still being set up (its commands then
      // wait in ioredis's queue, unwritten); the second comes to a running worker.
      await driver.queue.enqueue({ runId: 'first', replyTo: channel });
      await until(async () => received.length === 1);
      await until(async () => (await inspect.getJob('first')) === undefined);
      batches.length = 0;
      await driver.queue.enqueue({ runId: 'replied', replyTo: channel });
      await until(async () => received.length === 2);
      expect(received.map((message) => JSON.parse(message))).toEqual([
        { runId: 'first' },
        { runId: 'replied' },
      ]);
      await until(async () => (await inspect.getJob('replied')) === undefined);
      // The reply and BullMQ's moveToFinished (a script: EVAL, or EVALSHA once loaded) went to
      // Redis in the same write.
      const together = (batch: string) => /\bpublish\b/i.test(batch) && /\beval/i.test(batch);
      expect(batches.some(together)).toBe(true);
    } finally {
      Socket.prototype._writev = writev;
      subscriber.disconnect();
    }
  });

  it('gives up on a reply after a second when Redis does not answer', async () => {
    const redis = await startThrowawayRedis();
    const own = driverOn(randomQueuePrefix(), redis.url);
    const ownConsumer = own.consume(async () => undefined, 1);
    const admin = new Redis(redis.url);
    try {
      await ownConsumer.publishReply?.('sluice:reply:nobody', '{}');
      // Redis holds every client's commands for 2.5 s: a hung server, that comes back.
      await admin.client('PAUSE', 2500, 'ALL');
      const started = Date.now();
      await expect(ownConsumer.publishReply?.('sluice:reply:nobody', '{}')).rejects.toThrow(
        'redis did not answer within 1000 ms',
      );
      expect(Date.now() - started).toBeLessThan(2400);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    } finally {
      await ownConsumer.close();
      await own.queue.close();
      admin.disconnect();
      await redis.stop();
    }
  });

  it('closes an idle worker without waiting out its poll', async () => {
    consumer = driver.consume(async () => undefined, 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const closing = Date.now();
    await consumer.close();
    consumer = undefined;
    // Waiting out the poll would take the 9.5 s left of it.
    expect(Date.now() - closing).toBeLessThan(5000);
  });
});
