/** Failed key checks are counted per fixed window of this length. */
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** Addresses tracked per window; past this, new addresses share one count (memory stays bounded). */
export const MAX_TRACKED_ADDRESSES = 10_000;
/** The instance-wide cap on failed sign-ins per window, as a multiple of the per-address limit. */
export const BACKSTOP_FACTOR = 30;
const OVERFLOW = '(overflow)';

export interface AuthFailureLimiter {
  /**
   * Seconds until `address` may try a key again, or 0 when it may now. With `backstop`, the
   * instance-wide count of failed sign-ins also holds it back.
   */
  retryAfterS(address: string, options?: { backstop?: boolean }): number;
  /** One failed key check from `address`. */
  failed(address: string, options?: { backstop?: boolean }): void;
}

/**
 * Fixed windows on one clock: at each window's end every count starts again, so the table is
 * dropped whole instead of swept entry by entry, and never holds more than
 * MAX_TRACKED_ADDRESSES addresses however many an attacker uses. Per APP instance: N tasks
 * allow N times the limit, which still turns guessing at full speed into a trickle.
 */
export function createAuthFailureLimiter(
  limit: number,
  now: () => number = Date.now,
): AuthFailureLimiter {
  let counts = new Map<string, number>();
  let backstop = 0;
  let windowEnd = 0;
  const roll = () => {
    const t = now();
    if (t >= windowEnd) {
      counts = new Map();
      backstop = 0;
      windowEnd = t + AUTH_FAILURE_WINDOW_MS;
    }
    return t;
  };
  const keyOf = (address: string) =>
    counts.has(address) || counts.size < MAX_TRACKED_ADDRESSES ? address : OVERFLOW;
  return {
    retryAfterS(address, options) {
      const t = roll();
      const over =
        (counts.get(keyOf(address)) ?? 0) >= limit ||
        (options?.backstop === true && backstop >= limit * BACKSTOP_FACTOR);
      return over ? Math.max(1, Math.ceil((windowEnd - t) / 1000)) : 0;
    },
    failed(address, options) {
      roll();
      const key = keyOf(address);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (options?.backstop === true) backstop += 1;
    },
  };
}
