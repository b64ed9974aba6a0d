import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { withTimeout } from '../timeout';
import { type RedisConfig, redisOptions } from './redis-options';
import { type QueueDriver, RUN_QUEUE_NAME, type RunJob, type RunProcessor } from './run-queue';

export interface BullmqDriverOptions {
  redis: RedisConfig;
  /** Key prefix; keep it a `{hashtag}` so every key of the queue lands in one cluster slot. */
  prefix: string;
  failedJobRetentionDays: number;
  failedJobRetentionCount: number;
  onWorkerError?: (error: Error) => void;
}

export function createBullmqDriver(options: BullmqDriverOptions): QueueDriver {
  const connection = new Redis(redisOptions(options.redis, 'request'));
  // ioredis reconnects by itself; an unhandled 'error' event would crash the process.
  connection.on('error', () => undefined);
  const queue = new Queue<RunJob>(RUN_QUEUE_NAME, {
    connection,
    prefix: options.prefix,
    // Nobody reads the event stream: keep it short so it costs little memory.
    streams: { events: { maxLen: 100 } },
    defaultJobOptions: {
      // The run row is the durable record; a completed job has nothing left to say.
      removeOnComplete: true,
      removeOnFail: {
        age: options.failedJobRetentionDays * 86_400,
        count: options.failedJobRetentionCount,
      },
      // A flow's own failure is a final run status. Worker loss is handled by stalled-job
      // detection (maxStalledCount), not by job retries.
      attempts: 1,
    },
  });
  queue.on('error', () => undefined);

  return {
    kind: 'bullmq',
    queue: {
      async enqueue(job) {
        await queue.add('run', job, { jobId: job.runId });
      },
      async ping(timeoutMs) {
        await withTimeout(connection.ping(), timeoutMs, 'redis');
      },
      async close() {
        await queue.close();
        connection.disconnect();
      },
    },
    consume(processor: RunProcessor, concurrency: number) {
      const workerConnection = new Redis(redisOptions(options.redis, 'blocking'));
      workerConnection.on('error', () => undefined);
      const worker = new Worker<RunJob>(RUN_QUEUE_NAME, (job) => processor(job.data), {
        connection: workerConnection,
        prefix: options.prefix,
        concurrency,
        maxStalledCount: 1,
        removeOnComplete: { count: 0 },
        removeOnFail: {
          age: options.failedJobRetentionDays * 86_400,
          count: options.failedJobRetentionCount,
        },
      });
      worker.on('error', (error) => options.onWorkerError?.(error));
      return {
        async close() {
          await worker.close();
          workerConnection.disconnect();
        },
      };
    },
  };
}
