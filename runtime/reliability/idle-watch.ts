import type { Logger } from 'pino';

/**
 * Counts this process's work, so that the parts that would otherwise keep PostgreSQL busy
 * (leases, LISTEN, the worker session, periodic queries) can rest while nothing happens, and
 * a serverless Aurora can pause (SLUICE_IDLE_RELEASE_S). Each part decides for itself when
 * to rest, from `isQuiet()` and what it knows (the reconciler waits for no unfinished run,
 * the scheduler for no tick due soon); every `begin()` wakes the resting ones.
 */
export interface IdleWatch {
  /** How long nothing must happen before a part may rest. */
  readonly quietMs: number;
  /**
   * Work starts here (a request, a fired schedule tick). Wakes every resting part, and
   * resolves once the parts that the work needs first are back (the APP's LISTEN for sync
   * replies, established before the request can enqueue). Call `end` when the work is done.
   */
  begin(): Promise<{ end(): void }>;
  /** No work in flight, and none began or ended within `quietMs`. */
  isQuiet(): boolean;
  /**
   * Called on every `begin()`, so it must be cheap while the part is awake. A returned
   * promise is awaited by `begin()` (bounded by the part's own timeouts; its failure is
   * logged and the work goes on).
   */
  onBegin(wake: () => Promise<void> | undefined): void;
}

export function createIdleWatch({
  quietMs,
  logger,
  now = Date.now,
}: {
  quietMs: number;
  logger: Logger;
  now?: () => number;
}): IdleWatch {
  const wakers: (() => Promise<void> | undefined)[] = [];
  let inFlight = 0;
  let lastActivity = now();
  return {
    quietMs,
    async begin() {
      inFlight++;
      lastActivity = now();
      const waking = wakers.map((wake) => wake()).filter((ready) => ready !== undefined);
      if (waking.length > 0) {
        for (const outcome of await Promise.allSettled(waking)) {
          if (outcome.status === 'rejected') {
            logger.warn({ err: outcome.reason }, 'a resting part did not wake before the work');
          }
        }
      }
      let ended = false;
      return {
        end() {
          if (ended) return;
          ended = true;
          inFlight--;
          lastActivity = now();
        },
      };
    },
    isQuiet: () => inFlight === 0 && now() - lastActivity >= quietMs,
    onBegin(wake) {
      wakers.push(wake);
    },
  };
}
