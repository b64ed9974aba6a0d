import type { Logger } from 'pino';
import type { Database } from '../db/client';
import { canceledAmong } from '../db/run-control-store';

export interface CancelWatch {
  /** An AbortSignal that fires once `runId` is canceled; call stop() when the run ends. */
  watch(runId: string): { signal: AbortSignal; stop(): void };
  close(): void;
}

/**
 * Tells a worker's runs that they were canceled, wherever the cancel request landed: the run
 * row is the channel, read with one indexed query per worker process every `intervalMs`, and
 * only while the worker has runs in hand. It needs nothing but PostgreSQL, so it works the
 * same with every queue driver and reply bus, and a cancel is never lost to a dropped message.
 */
export function createCancelWatch(
  db: Database,
  { intervalMs, logger }: { intervalMs: number; logger: Logger },
): CancelWatch {
  // Each job in hand for a run: a duplicate delivery of a run's job (at-least-once queues, with
  // a concurrency above 1) may be here at the same time as the job that runs it.
  const watched = new Map<string, Set<AbortController>>();
  let timer: NodeJS.Timeout | undefined;
  let polling = false;

  async function poll() {
    if (polling || watched.size === 0) return;
    polling = true;
    try {
      for (const runId of await canceledAmong(db, [...watched.keys()])) {
        for (const controller of watched.get(runId) ?? []) {
          controller.abort(new Error(`run ${runId} canceled`));
        }
        watched.delete(runId);
      }
    } catch (error) {
      // A missed poll delays a cancel by one interval; the next one asks again.
      logger.warn({ err: error }, 'cancel poll failed');
    } finally {
      polling = false;
    }
  }

  function schedule() {
    if (timer !== undefined || watched.size === 0) return;
    timer = setInterval(() => void poll(), intervalMs);
    timer.unref();
  }

  function unschedule() {
    if (watched.size > 0 || timer === undefined) return;
    clearInterval(timer);
    timer = undefined;
  }

  return {
    watch(runId) {
      const controller = new AbortController();
      const controllers = watched.get(runId) ?? new Set();
      controllers.add(controller);
      watched.set(runId, controllers);
      schedule();
      return {
        signal: controller.signal,
        stop() {
          controllers.delete(controller);
          if (controllers.size === 0 && watched.get(runId) === controllers) watched.delete(runId);
          unschedule();
        },
      };
    },
    close() {
      watched.clear();
      unschedule();
    },
  };
}
