import type { Socket } from 'node:net';
import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { withTimeout } from '../timeout';
import { holdsEndedJob, liveJobIds } from './bullmq-job-liveness';
import { type RedisConfig, redisOptions } from './redis-options';
import {
  type QueueDriver,
  RUN_QUEUE_NAME,
  type RunJob,
  type RunProcessor,
  stampedForEnqueue,
} from './run-queue';
import { UnknownRunError } from './unknown-run-error';

export interface BullmqDriverOptions {
  redis: RedisConfig;
  /** Key prefix; keep it a `{hashtag}` so every key of the queue lands in one cluster slot. */
  prefix: string;
  failedJobRetentionDays: number;
  failedJobRetentionCount: number;
  /**
   * A worker that stops renewing its job lock for this long is presumed lost: BullMQ's stalled
   * check fails the job, and the APP's reaper retries or fails the run.
   */
  stalledAfterMs: number;
  onWorkerError?: (error: Error) => void;
  /**
   * A run whose processing threw: BullMQ keeps only the job's failedReason in Redis, so this is
   * where the worker's log hears of it. Not called for a misrouted job, already reported.
   */
  onRunError?: (error: unknown, runId: string) => void;
}

/** The job as this driver stores it: the run job, and how often it was found misrouted. */
type StoredJob = RunJob & { misroutedDeliveries?: number };

/**
 * How long a job for a run this database does not know waits before it is offered again, so a
 * worker of the deployment that owns it can take it.
 */
const MISROUTED_RETRY_MS = 5000;
/**
 * Deliveries of a misrouted job before it is failed (kept with the failed jobs, where the owning
 * deployment's reconciler finds it dead and enqueues its run again).
 */
const MISROUTED_MAX_DELIVERIES = 12;

/** Bounds an enqueue on the request path, including BullMQ waiting for a first connection. */
const ENQUEUE_TIMEOUT_MS = 700;
/**
 * Seconds an idle worker's BZPOPMIN waits before it polls again (BullMQ's ceiling; its default
 * is 5). A new job wakes a waiting worker at once through the queue's marker, and a delayed job
 * sets the wait to its due time, so a longer wait only halves what idle workers send; closing
 * disconnects the blocking connection rather than waiting it out.
 */
const IDLE_POLL_S = 10;
/**
 * Bounds a sync reply published on the worker's connection, which waits for Redis forever (as
 * BullMQ needs): a stopping worker waits for its replies, never for an outage.
 */
const REPLY_PUBLISH_TIMEOUT_MS = 1000;

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
      // A flow's own failure is a final run status. Worker loss is handled by the APP's reaper
      // (runtime/reliability), which owns the attempt count, not by job retries.
      attempts: 1,
    },
  });
  queue.on('error', () => undefined);

  return {
    kind: 'bullmq',
    queue: {
      async enqueue(job) {
        await withTimeout(
          queue.add('run', stampedForEnqueue(job), { jobId: job.runId }),
          ENQUEUE_TIMEOUT_MS,
          'redis',
        );
      },
      liveJobIds: (runIds) => liveJobIds(connection, queue, runIds),
      async requeue(job) {
        // A dead job keeps its id, and add() with that id would be a silent no-op.
        if (await holdsEndedJob(connection, queue, job.runId)) await queue.remove(job.runId);
        await queue.add('run', stampedForEnqueue(job), { jobId: job.runId });
      },
      dependency: 'redis',
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
      const inHand = new Map<string, { job: Job<StoredJob>; token: string | undefined }>();
      /**
       * Another deployment may own the run: delay the job (BullMQ's moveToDelayed plus
       * DelayedError) so a worker of that deployment can take it, rather than acknowledging it
       * or taking it back at once, which would spin.
       */
      const leaveForItsOwner = async (job: Job<StoredJob>, token?: string) => {
        const deliveries = (job.data.misroutedDeliveries ?? 0) + 1;
        if (deliveries >= MISROUTED_MAX_DELIVERIES) return;
        await job.updateData({ ...job.data, misroutedDeliveries: deliveries });
        await job.moveToDelayed(Date.now() + MISROUTED_RETRY_MS, token);
        throw new DelayedError();
      };
      const processJob = async (job: Job<StoredJob>, token?: string) => {
        inHand.set(job.data.runId, { job, token });
        try {
          await processor(job.data);
        } catch (error) {
          if (error instanceof UnknownRunError) await leaveForItsOwner(job, token);
          else options.onRunError?.(error, job.data.runId);
          throw error;
        } finally {
          inHand.delete(job.data.runId);
        }
      };
      const worker = new Worker<StoredJob>(RUN_QUEUE_NAME, processJob, {
        connection: workerConnection,
        prefix: options.prefix,
        concurrency,
        drainDelay: IDLE_POLL_S,
        // A stalled job (its worker died) fails at once; the reaper decides whether to retry.
        maxStalledCount: 0,
        lockDuration: options.stalledAfterMs,
        stalledInterval: options.stalledAfterMs,
        removeOnComplete: { count: 0 },
        removeOnFail: {
          age: options.failedJobRetentionDays * 86_400,
          count: options.failedJobRetentionCount,
        },
      });
      worker.on('error', (error) => options.onWorkerError?.(error));
      return {
        /**
         * The reply goes out on the connection BullMQ completes the job on, corked until the end
         * of this turn of the event loop: the job ends in the same turn (the processor sends
         * the reply once the run is recorded, then returns), so the reply and BullMQ's
         * moveToFinished reach Redis in one write and their answers come back in one read
         * (sync bench, c=50: the worker's system calls per run 21.4 -> 18.0, Redis's 7.7 ->
         * 5.2). Redis answers a connection's commands in order, so a reply is delivered before
         * its job's completion is acknowledged, and so before close() returns.
         */
        async publishReply(channel, message) {
          corkForThisTurn(workerConnection);
          await withTimeout(
            workerConnection.publish(channel, message),
            REPLY_PUBLISH_TIMEOUT_MS,
            'redis',
          );
        },
        async close() {
          await worker.close();
          workerConnection.disconnect();
        },
        async handOver() {
          // No job is taken after this (close() later returns the same promise): role all's
          // worker still runs while its HTTP server drains, and one more job would hold the
          // process past its deadline. BullMQ's close waits for the jobs in hand, which keep
          // their locks until then, so moveToWait below still holds their tokens.
          worker.close().catch(() => undefined);
          const jobs = [...inHand.values()];
          // moveToWait checks our lock token and RPUSHes the job: the next worker takes it first.
          // A job whose flow finished meanwhile is no longer active, and is skipped.
          const moved = await Promise.allSettled(
            jobs.map(({ job, token }) => job.moveToWait(token)),
          );
          return jobs
            .filter((_, i) => moved[i]?.status === 'fulfilled')
            .map(({ job }) => job.data.runId);
        },
      };
    },
  };
}

/**
 * Holds the connection's writes until the microtasks of this turn of the event loop have run,
 * so that the commands sent meanwhile reach Redis in one write and their answers come back in
 * one read. A connection that is not ready (ioredis queues its commands) is left alone.
 */
function corkForThisTurn(connection: Redis): void {
  const socket = socketOf(connection);
  if (connection.status !== 'ready' || socket === undefined || socket.writableCorked !== 0) return;
  socket.cork();
  process.nextTick(() => socket.uncork());
}

/** ioredis's socket to Redis while it has one (its `stream`, not in its typings). */
function socketOf(connection: Redis): Socket | undefined {
  return (connection as Redis & { stream?: Socket }).stream;
}
