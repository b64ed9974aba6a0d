import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type RedisConfig, redisOptions } from '../queue/redis-options';
import { RUN_QUEUE_NAME } from '../queue/run-queue';
import type { QueueDepth } from './queue-depth';

export interface BullmqQueueDepth {
  read(): Promise<QueueDepth>;
  /** The reader's connection, shared with the publisher lock. */
  readonly redis: Redis;
  close(): Promise<void>;
}

/** Reads depth from BullMQ over its own request-purpose connection (bounded timeouts). */
export function createBullmqQueueDepth(redis: RedisConfig, prefix: string): BullmqQueueDepth {
  const connection = new Redis(redisOptions(redis, 'request'));
  connection.on('error', () => undefined);
  const queue = new Queue(RUN_QUEUE_NAME, { connection, prefix });
  queue.on('error', () => undefined);
  return {
    redis: connection,
    async read() {
      const [counts, workers, oldest] = await Promise.all([
        queue.getJobCounts('wait', 'prioritized', 'active'),
        queue.getWorkersCount(),
        queue.getJobs(['wait'], 0, 0, true),
      ]);
      const enqueuedAt = oldest[0]?.timestamp;
      return {
        waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0),
        active: counts.active ?? 0,
        workers,
        oldestWaitingAgeSeconds:
          enqueuedAt === undefined ? 0 : Math.max(0, (Date.now() - enqueuedAt) / 1000),
      };
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}
