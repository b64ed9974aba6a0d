import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RunJob } from './run-queue';

/**
 * One HMGET per id, pipelined, instead of BullMQ's getState: that script looks for the id with
 * LPOS along the whole wait list, so the reconciler's batch cost O(ids × backlog) while a burst
 * was queued. A job's hash is written and deleted by the same scripts that put it in and take
 * it out of its state lists; completed jobs are removed (removeOnComplete), and a failed one
 * keeps its hash with `finishedOn` set. So: no hash, or `finishedOn` set, is dead (what getState
 * calls completed, failed or unknown); any other hash is waiting, delayed, prioritized or active.
 */
export async function liveJobIds(
  connection: Redis,
  queue: Queue<RunJob>,
  runIds: readonly string[],
): Promise<Set<string>> {
  if (runIds.length === 0) return new Set();
  const pipeline = connection.pipeline();
  for (const id of runIds) pipeline.hmget(queue.toKey(id), 'timestamp', 'finishedOn');
  const replies = (await pipeline.exec()) ?? [];
  const live = new Set<string>();
  runIds.forEach((id, i) => {
    const [error, fields] = replies[i] ?? [new Error('no reply')];
    if (error) throw error;
    const [timestamp, finishedOn] = fields as [string | null, string | null];
    if (timestamp !== null && finishedOn === null) live.add(id);
  });
  return live;
}

/** Whether the run's job has ended but still holds its id (a failed job kept for inspection). */
export async function holdsEndedJob(
  connection: Redis,
  queue: Queue<RunJob>,
  runId: string,
): Promise<boolean> {
  return (await connection.hget(queue.toKey(runId), 'finishedOn')) !== null;
}
