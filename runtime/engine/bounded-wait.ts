export type Settled<T> =
  | { status: 'fulfilled'; value: T }
  | { status: 'rejected'; reason: unknown }
  | { status: 'pending' };

/**
 * Waits for `promise` at most `ms`, then reports how it stood. Only the wait is bounded: the
 * work behind the promise goes on, and the caller decides what to do with it.
 */
export function settleWithin<T>(promise: Promise<T>, ms: number): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'pending' }), Math.max(0, ms));
  });
  const settled = promise.then(
    (value): Settled<T> => ({ status: 'fulfilled', value }),
    (reason: unknown): Settled<T> => ({ status: 'rejected', reason }),
  );
  return Promise.race([settled, expired]).finally(() => clearTimeout(timer));
}
