import { type QueueDriver, type RunJob, type RunProcessor, stampedForEnqueue } from './run-queue';

/**
 * Embedded mode only (SLUICE_ROLE=all without Redis): jobs live in this process's memory.
 * Runs are still committed to the database first, and startup re-enqueues unfinished runs,
 * so a restart loses no run.
 */
export function createInProcessDriver(
  onError: (error: unknown, runId: string) => void,
): QueueDriver {
  const pending: RunJob[] = [];
  const queued = new Set<string>();
  const active = new Set<string>();
  const wakers: (() => void)[] = [];
  let closed = false;

  const wakeOne = () => wakers.shift()?.();
  const enqueue = async (job: RunJob) => {
    if (queued.has(job.runId) || active.has(job.runId)) return;
    queued.add(job.runId);
    pending.push(stampedForEnqueue(job));
    wakeOne();
  };

  return {
    kind: 'in-process',
    queue: {
      enqueue,
      async liveJobIds(runIds) {
        return new Set(runIds.filter((id) => queued.has(id) || active.has(id)));
      },
      requeue: enqueue,
      dependency: null,
      async ping() {},
      async close() {
        closed = true;
        for (const wake of wakers.splice(0)) wake();
      },
    },
    consume(processor: RunProcessor, concurrency: number) {
      let stopping = false;
      const loop = async () => {
        while (!stopping && !closed) {
          const job = pending.shift();
          if (job === undefined) {
            await new Promise<void>((resolve) => wakers.push(resolve));
            continue;
          }
          queued.delete(job.runId);
          active.add(job.runId);
          await processor(job).catch((error: unknown) => onError(error, job.runId));
          active.delete(job.runId);
        }
      };
      const loops = Array.from({ length: concurrency }, loop);
      const stopTaking = () => {
        stopping = true;
        for (const wake of wakers.splice(0)) wake();
      };
      return {
        // Embedded jobs live in memory: the next start re-enqueues every unfinished run. No
        // job is taken after this (see the BullMQ driver's handOver).
        async handOver() {
          stopTaking();
          return [];
        },
        async close() {
          stopTaking();
          await Promise.all(loops);
        },
      };
    },
  };
}
